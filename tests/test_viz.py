"""The workshop page without a browser: sessions, export round trip, comparison, pictures, and components
rendered headless with solara."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import ClassVar

import ipyvuetify as v
import numpy as np
import pytest
import solara

from experiments.spec import load_spec
from model.cli import main as cli_main
from model.model import FIXED_AT_START
from model.parameters import PARAMETERS, validate_parameters
from model.scenarios import load_scenario, shipped_paths
from viz import ensemble as ens
from viz import figures, labels, serve
from viz.files import (
    SCENARIOS_DIR_ENV,
    UPLOAD_LIMIT_BYTES,
    FileRefused,
    ScenarioFolder,
    display_name,
    read_upload,
)
from viz.session import SessionError, WorkshopSession, scenario_toml, seat_positions
from viz.solara_server import TOKEN_ENV


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """A small scenario file (fast runs)."""
    path = tmp_path / "small.toml"
    path.write_text(
        'name = "small"\ndescription = "small and short"\n\n[parameters]\nseats = 12\npopulation_size = 300\n'
        "steps = 24\n"
    )
    return path


# ---------------------------------------------------------------------------- labels and serving
def test_every_parameter_and_type_has_plain_words() -> None:
    assert labels.check_complete() == []
    assert set(labels.MAIN_LEVELS) <= set(labels.LEVEL_TITLES)
    for name in PARAMETERS:
        assert labels.parameter_label(name) != name.replace("_", " ") or name == "seats"
        assert name in labels.parameter_hint(name)


def test_serve_runs_solara_offline_in_production() -> None:
    cmd = serve.command("127.0.0.1", 8999, python="py")
    assert cmd[:4] == ["py", "-m", "viz.solara_server", "run"]  # solara run, behind the token gate
    assert cmd[4].endswith("viz/app.py") and Path(cmd[4]).is_file()
    for flag in ("--production", "--no-check-version", "--no-open"):
        assert flag in cmd
    assert cmd[cmd.index("--port") + 1] == "8999" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    env = serve.offline_env({"PATH": "/bin", TOKEN_ENV: "stale", SCENARIOS_DIR_ENV: "/stale"})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")  # a dead loopback port, never a CDN
    assert env["PATH"] == "/bin" and str(Path(serve.__file__).resolve().parent.parent) in env["PYTHONPATH"]
    assert TOKEN_ENV not in env and SCENARIOS_DIR_ENV not in env  # given to a server only on purpose
    env = serve.server_env("tok", Path("/srv/scen"), base={"PATH": "/bin"})
    assert env[TOKEN_ENV] == "tok" and env[SCENARIOS_DIR_ENV] == "/srv/scen"
    assert "tok" not in " ".join(cmd)  # never on the command line, where other users of the machine can read it
    assert serve.check_assets() is None  # solara-assets is installed with the viz extra


def test_serve_refuses_a_bad_port(capsys) -> None:
    assert serve.serve("127.0.0.1", 70000) == 2
    assert "--port 70000 is not allowed" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.0.9", "::1", "[::1]", "localhost", "LOCALHOST"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert serve.is_loopback(host)
    assert serve.choose_token(host) is None
    assert serve.choose_token(host, token="chosen-1") == "chosen-1"  # --token forces the gate, on loopback too


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.1", "fe80::1", "workshop-laptop", ""])
def test_other_hosts_get_a_token_unless_no_token(host: str) -> None:
    assert not serve.is_loopback(host)
    first, second = serve.choose_token(host), serve.choose_token(host)
    assert first and second and first != second and len(first) >= 32  # secrets.token_urlsafe, fresh each start
    assert serve.TOKEN_PATTERN.fullmatch(first)
    assert serve.choose_token(host, no_token=True) is None
    assert serve.choose_token(host, token="mine") == "mine"


def test_bad_token_options_are_refused() -> None:
    with pytest.raises(serve.ServeError, match="cannot be given together"):
        serve.choose_token("0.0.0.0", token="x", no_token=True)
    for bad in ("", "has space", "a/b", "tök", "a;b"):
        with pytest.raises(serve.ServeError, match="--token is not allowed"):
            serve.choose_token("0.0.0.0", token=bad)


class _FakeServer:
    """Stands in for the server process: serve() prints, starts it, and waits for it (it exits at once)."""

    started: ClassVar[list] = []

    def __init__(self, cmd, env=None, **_):
        _FakeServer.started.append((cmd, env))
        self.returncode = 0

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0

    def send_signal(self, sig):
        pass

    def terminate(self):
        pass


def _serve_printing(monkeypatch, host: str, **options) -> tuple[int, str, str, dict]:
    import io

    _FakeServer.started = []
    monkeypatch.setattr(serve.subprocess, "Popen", _FakeServer)
    out, err = io.StringIO(), io.StringIO()
    status = serve.serve(host, 8765, out=out, err=err, **options)
    env = _FakeServer.started[0][1] if _FakeServer.started else {}
    return status, out.getvalue(), err.getvalue(), env


def test_every_interface_prints_the_real_addresses_with_the_token_and_a_warning(monkeypatch) -> None:
    import socket

    status, out, err, env = _serve_printing(monkeypatch, "0.0.0.0")
    assert status == 0
    token = env[TOKEN_ENV]
    urls = [line.strip() for line in out.splitlines() if line.strip().startswith("http://")]
    assert urls and all(u.endswith(f":8765/?token={token}") for u in urls)
    assert "localhost" not in out and "0.0.0.0" not in out  # the real addresses, not a loopback name
    assert urls[0] == f"http://{socket.gethostname()}:8765/?token={token}"
    hosts = [u.split("//")[1].rsplit(":", 1)[0].strip("[]") for u in urls]
    assert hosts == serve.machine_addresses()  # the name, then every interface address, loopback last
    assert "anyone who can reach them" in err and "token" in err


def test_machine_addresses_list_the_interfaces(monkeypatch) -> None:
    import socket
    from types import SimpleNamespace

    import psutil

    fake = {
        "lo": [SimpleNamespace(family=socket.AF_INET, address="127.0.0.1")],
        "eth0": [SimpleNamespace(family=socket.AF_INET, address="192.168.1.20"),
                 SimpleNamespace(family=socket.AF_INET6, address="fe80::1%eth0"),
                 SimpleNamespace(family=socket.AF_INET6, address="2001:db8::5")],
        "wlan0": [SimpleNamespace(family=socket.AF_INET, address="10.1.2.3")],
    }  # fmt: skip
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: fake)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [])
    monkeypatch.setattr(socket, "gethostname", lambda: "workshop-laptop")
    assert serve.machine_addresses() == ["workshop-laptop", "192.168.1.20", "10.1.2.3", "127.0.0.1"]
    assert serve.machine_addresses(ipv6=True) == ["workshop-laptop", "192.168.1.20", "2001:db8::5", "10.1.2.3",
                                                  "127.0.0.1"]  # fmt: skip
    urls = serve.addresses("::", 80, "t")
    assert "http://[2001:db8::5]:80/?token=t" in urls


def test_a_named_address_prints_itself_and_no_token_warns_plainly(monkeypatch) -> None:
    status, out, err, env = _serve_printing(monkeypatch, "192.0.2.7", no_token=True)
    assert status == 0 and TOKEN_ENV not in env
    assert "http://192.0.2.7:8765/\n" in out and "token=" not in out
    assert "no token" in err and "anyone who can reach them can use the page" in err
    status, out, err, env = _serve_printing(monkeypatch, "::", token="room-42")
    assert env[TOKEN_ENV] == "room-42" and "/?token=room-42" in out


def test_loopback_prints_its_address_without_a_token_or_warning(monkeypatch, tmp_path: Path) -> None:
    status, out, err, env = _serve_printing(monkeypatch, "127.0.0.1", scenarios=str(tmp_path))
    assert status == 0 and TOKEN_ENV not in env and env[SCENARIOS_DIR_ENV] == str(tmp_path.resolve())
    assert "http://127.0.0.1:8765/\n" in out and "Warning" not in err


@pytest.mark.parametrize(
    "options",
    [
        ["--port", "0"],
        ["--port", "70000"],
        ["--port", "eighty"],
        ["--scenarios", "MISSING"],
        ["--scenarios", "FILE"],
        ["--token", "x", "--no-token"],
        ["--token", "with space"],
    ],
)
def test_bad_viz_options_print_one_line_and_exit_2(options: list[str], tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(serve.subprocess, "Popen", _FakeServer)  # nothing is ever started
    _FakeServer.started = []
    a_file = tmp_path / "a.toml"
    a_file.write_text("")
    given = [{"MISSING": str(tmp_path / "nope"), "FILE": str(a_file)}.get(o, o) for o in options]
    assert cli_main(["viz", *given]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("phc-synergy: error: "), captured.err
    assert "Traceback" not in captured.err and _FakeServer.started == []


# ---------------------------------------------------------------------------- the session
def test_session_steps_resets_and_keeps_its_layout(small: Path) -> None:
    s = WorkshopSession(str(small), seed=3)
    positions = s.positions.copy()
    assert s.month == 0 and s.horizon == 24 and not s.finished
    assert s.step(5) == 5
    assert np.array_equal(s.snapshot().positions, positions)  # the picture stays put while it runs
    assert s.step(100) == 24 and s.finished
    s.reset()
    assert s.month == 0 and np.array_equal(s.positions, positions)  # same seed, same table, same places


def test_resets_free_the_old_models() -> None:
    import gc
    import weakref

    s = WorkshopSession()
    built = []
    for _ in range(60):
        built.append(weakref.ref(s.model))
        s.step(2)
        s.snapshot()  # the views make Mesa agents: they must not keep a model alive either
        s.reset()
    gc.collect()
    assert [ref for ref in built if ref() is not None] == []  # Mesa's Agent._ids leak does not bite here


def test_layout_covers_every_seat_and_is_seeded() -> None:
    s = WorkshopSession("default", seed=5)
    graph = s.model.network()
    a, b = seat_positions(graph, 5), seat_positions(graph, 5)
    assert a.shape == (s.params["seats"], 2) and np.array_equal(a, b)
    assert np.all(np.abs(a) <= 1.0 + 1e-9)
    big = seat_positions(__import__("networkx").empty_graph(500), 1)  # large tables: a spiral, no spring layout
    assert big.shape == (500, 2) and np.all(np.isfinite(big))


def test_bad_values_are_refused_with_words_and_the_last_good_value_stays(small: Path) -> None:
    s = WorkshopSession(str(small))
    before = dict(s.params)
    for name, bad in [("leadership", "1.5"), ("leadership", "high"), ("seats", "2"), ("seats", "7.5"),
                      ("composition", "clinician:x"), ("shock_month", "99")]:  # fmt: skip
        with pytest.raises(SessionError) as err:
            s.set_parameter(name, bad)
        assert "not allowed" in str(err.value) and labels.parameter_label(name) in str(err.value)
    assert s.params == before
    with pytest.raises(SessionError, match=r"an integer in \[0, 2\^63 - 1\]"):
        s.set_seed("-1")
    with pytest.raises(SessionError, match=r"an integer in \[0, 2\^63 - 1\]"):
        s.set_seed("1.5")


def test_live_settings_change_the_running_model_and_are_marked(small: Path) -> None:
    s = WorkshopSession(str(small))
    s.step(4)
    assert s.set_parameter("leadership", "0.9") == "applied now"
    assert s.model.params["leadership"] == 0.9
    s.set_parameter("leadership", 0.95)  # a dragged slider: one mark per setting and month
    assert [m for m in s.marks() if "leadership" in m[1].lower()] == [(4, "Facilitative leadership: 0.95")]
    at_reset = {"seats": 15, "type_diversity": 0.5, "composition": "clinician:2,academic:1",
                "initial_tie_density": 0.5, "committee_size": 10, "financial_resources": 2.0,
                "nonfinancial_resources": 2.0, "population_size": 500, "population_vulnerability": 0.7, "steps": 30,
                "initial_trust": 0.4, "endowment_spread": 0.3, "ability_slope": 1.0, "ability_specific_sd": 0.5,
                "ability_vulnerability_shift": 1.0, "lead_type": 5}
    assert set(at_reset) == set(FIXED_AT_START) | {"steps"}
    for name, value in at_reset.items():
        assert s.set_parameter(name, value) == "takes effect when you press Reset", name
        assert name in s.pending
    assert s.model.params["seats"] == 12  # not yet
    s.reset()
    assert s.pending == set() and s.model.params["seats"] == s.params["seats"] == 15 and s.horizon == 30


def test_interventions_are_recorded_and_marked(small: Path) -> None:
    s = WorkshopSession(str(small))
    s.step(6)
    assert "system shock" in s.shock(0.6)
    s.step(2)
    assert "coordinator" in s.add_coordinator()
    assert "left" in s.key_partner_leaves()
    assert "patient partner joined" in s.recruit("patient_partner")  # the key partner's seat is empty
    marks = s.marks()
    assert (6, "System shock (60%)") in marks and (8, "Coordinator joined") in marks
    assert (8, "Key partner left") in marks and (8, "Patient partner joined") in marks
    assert [(i.month, i.kind) for i in s.interventions] == [(6, "shock"), (8, "coordinator"), (8, "key_partner"),
                                                           (8, "recruit")]  # fmt: skip
    s.step(100)
    with pytest.raises(SessionError, match="last month"):
        s.add_coordinator()


def test_recruit_without_an_empty_seat_says_so(small: Path) -> None:
    s = WorkshopSession(str(small))
    with pytest.raises(SessionError, match="empty seat"):
        s.recruit("patient_partner")  # month 0: every seat is taken


def test_a_missing_scenario_file_is_refused_and_the_session_keeps_going(tmp_path: Path) -> None:
    s = WorkshopSession()
    for target in (str(tmp_path / "nope.toml"), "pcpp", ""):
        with pytest.raises(SessionError):
            s.load(target)
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\ndescription = "y"\n[parameters]\nleadership = 7\n')
    with pytest.raises(SessionError, match="leadership"):
        s.load(str(bad))
    assert s.scenario == "default" and s.step(1) == 1


def test_an_uploaded_file_loads_from_its_bytes() -> None:
    s = WorkshopSession()
    s.load_bytes(shipped_paths()["chrp"].read_bytes(), "my chrp.toml")
    assert s.params == load_scenario("chrp") and s.scenario == "my chrp.toml (your file)"
    assert s.step(1) == 1


def test_a_calibrated_upload_keeps_its_posterior(calibrated: Path) -> None:
    from model.scenarios import posterior_draws

    s = WorkshopSession()
    s.load_bytes(calibrated.read_bytes(), "calibrated.toml")
    assert s.posterior is not None and s.posterior.size == 3
    assert s.posterior_draws(6, 4) == posterior_draws(calibrated, 6, 4)  # as from the file itself


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\xff\xfe not text", "not UTF-8"),
        (b"name = \n", "malformed TOML"),
        (b'name = "x"\ndescription = "y"\nseats = 3\n[parameters]\n', "unknown top-level key 'seats'"),
        (b'name = "x"\n[parameters]\n', "missing 'description'"),
        (b'name = "x"\ndescription = "y"\n[parameters]\nleadership = 7\n', "leadership = 7 is not allowed"),
        (b'name = "x"\ndescription = "y"\n[parameters]\nmystery = 1\n', "mystery"),
    ],
)
def test_errors_about_an_upload_name_its_field_and_nothing_of_the_server(content: bytes, words: str) -> None:
    s = WorkshopSession()
    with pytest.raises(SessionError) as err:
        s.load_bytes(content, "visitor.toml")
    message = str(err.value)
    assert message.startswith("visitor.toml: ") and words in message
    assert "/" not in message.replace("[0, 1]", "")  # no path of the server, not even of a temporary file
    assert s.scenario == "default" and s.step(1) == 1  # the session goes on with what it had


def test_shipped_names_only_through_load_shipped(tmp_path: Path) -> None:
    s = WorkshopSession()
    s.load_shipped("pccp")
    assert s.params == load_scenario("pccp")
    for sneaky in ("/etc/passwd", str(shipped_paths()["chrp"]), "../scenarios/chrp.toml", "", ["pccp"]):
        with pytest.raises(SessionError, match="not a shipped scenario"):
            s.load_shipped(sneaky)
    assert s.params == load_scenario("pccp")


def _upload(name: str, size: int | None, content: bytes) -> dict:
    import io

    return {"name": name, "size": size if size is not None else len(content), "file_obj": io.BytesIO(content),
            "data": None}  # fmt: skip


def test_an_upload_over_the_limit_is_refused_before_it_is_read() -> None:
    class Unread:
        def read(self, n=-1):
            raise AssertionError("an upload announced over the limit must not be read")

    with pytest.raises(FileRefused, match="larger than 1 MiB"):
        read_upload({"name": "big.toml", "size": UPLOAD_LIMIT_BYTES + 1, "file_obj": Unread(), "data": None})
    # a browser that announces less than it sends: the read stops one byte past the limit
    sent = _upload("liar.toml", 10, b"x" * (3 * UPLOAD_LIMIT_BYTES))
    with pytest.raises(FileRefused, match="larger than 1 MiB"):
        read_upload(sent)
    assert sent["file_obj"].tell() == UPLOAD_LIMIT_BYTES + 1
    assert read_upload(_upload("ok.toml", None, b"x" * UPLOAD_LIMIT_BYTES)) == b"x" * UPLOAD_LIMIT_BYTES
    assert UPLOAD_LIMIT_BYTES == 1024 * 1024


def test_display_names_keep_only_the_last_part() -> None:
    assert display_name("../../etc/my scenario.toml") == "my scenario.toml"
    assert display_name("C:\\Users\\x\\s.toml") == "s.toml"
    assert display_name(".hidden.toml") == "hidden.toml" and display_name("") == "scenario.toml"
    assert display_name("a<script>.toml") == "a_script_.toml"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A scenario folder: two good files, and every kind of thing the page must not open."""
    root = tmp_path / "room"
    root.mkdir()
    (root / "ours.toml").write_bytes(shipped_paths()["pccp"].read_bytes())
    (root / "b linked.toml").symlink_to(root / "ours.toml")  # a link to a file inside: fine
    (root / "notes.txt").write_text("not a scenario")
    (root / ".hidden.toml").write_bytes(shipped_paths()["pccp"].read_bytes())
    (root / "dir.toml").mkdir()
    (root / "sub").mkdir()
    (root / "sub" / "deep.toml").write_bytes(shipped_paths()["chrp"].read_bytes())
    outside = tmp_path / "secret.toml"
    outside.write_text('name = "secret"\ndescription = "outside"\n[parameters]\n')
    (root / "escape.toml").symlink_to(outside)  # a link out of the folder
    (root / "passwd.toml").symlink_to("/etc/passwd")
    (root / "dangling.toml").symlink_to(tmp_path / "gone.toml")
    (root / "big.toml").write_bytes(b"#" * (UPLOAD_LIMIT_BYTES + 1))
    return root


def test_the_scenario_folder_lists_only_its_own_toml_files(folder: Path) -> None:
    shelf = ScenarioFolder(folder)
    assert shelf.names() == ["b linked.toml", "big.toml", "ours.toml"]
    assert shelf.read("ours.toml") == shipped_paths()["pccp"].read_bytes()
    assert shelf.read("b linked.toml") == shipped_paths()["pccp"].read_bytes()
    with pytest.raises(FileRefused, match="larger than 1 MiB"):
        shelf.read("big.toml")


@pytest.mark.parametrize(
    "name",
    ["../secret.toml", "..", ".", "", "sub/deep.toml", "sub\\deep.toml", "escape.toml", "passwd.toml",
     "dangling.toml", "dir.toml", ".hidden.toml", "notes.txt", "/etc/passwd", "ours.toml\0", "nope.toml"],
)  # fmt: skip
def test_the_scenario_folder_refuses_everything_else(folder: Path, name: str) -> None:
    with pytest.raises(FileRefused) as err:
        ScenarioFolder(folder).read(name)
    assert "not one of the scenario files of this workshop" in str(err.value)
    assert str(folder) not in str(err.value) and "secret" not in str(err.value)


def test_the_scenario_folder_from_the_environment(folder: Path, tmp_path: Path) -> None:
    assert ScenarioFolder.from_env({}) is None
    assert ScenarioFolder.from_env({SCENARIOS_DIR_ENV: str(folder)}).root == folder.resolve()
    assert ScenarioFolder.from_env({SCENARIOS_DIR_ENV: str(tmp_path / "gone")}) is None
    for bad, words in [(tmp_path / "gone", "no such folder"), (folder / "ours.toml", "is not a folder"), ("", "--scenarios ''")]:
        with pytest.raises(FileRefused, match=words):
            ScenarioFolder(bad)


# ---------------------------------------------------------------------------- export round trip
def test_export_round_trips_through_load_run_and_sweep(tmp_path: Path, capsys) -> None:
    s = WorkshopSession("pccp", seed=11)
    s.set_parameter("leadership", "0.85")
    s.set_parameter("individual_turnover", "0.0125")
    s.set_parameter("composition", "clinician:3, academic:2, patient_partner:1")
    s.set_parameter("population_size", "400")
    s.set_parameter("steps", "20")
    text = s.export_toml("my workshop", 'a "quoted" description')
    path = tmp_path / "export.toml"
    path.write_text(text)
    assert load_scenario(path) == s.params  # every setting comes back exactly

    # the command line runs it, and a sweep takes it as its base scenario
    out = tmp_path / "run.csv"
    assert cli_main(["run", "--scenario", str(path), "--seed", "11", "--out", str(out)]) == 0
    assert len(out.read_text().splitlines()) == 1 + 21
    spec_path = tmp_path / "sweep.toml"
    spec_path.write_text(
        'scenario = "export.toml"\nroot_seed = 1\nreplicates = 2\n[vary]\ncommunication = {}\n'
        '[design]\nmethod = "grid"\nlevels = 2\n'
    )
    spec = load_spec(spec_path)
    assert spec.parameters["leadership"] == 0.85 and spec.parameters["composition"] == s.params["composition"]
    capsys.readouterr()

    # and the page loads it back
    s2 = WorkshopSession()
    s2.load(str(path))
    assert s2.params == s.params and s2.scenario_info.name == "my workshop"


@pytest.mark.parametrize("name", list(shipped_paths()))
def test_every_shipped_scenario_exports_to_itself(name: str, tmp_path: Path) -> None:
    params = load_scenario(name)
    path = tmp_path / "x.toml"
    path.write_text(scenario_toml(name, "d", params))
    assert load_scenario(path) == params


# ---------------------------------------------------------------------------- comparison
def test_comparison_is_paired_and_stated_in_words(small: Path) -> None:
    base = load_scenario(small)
    better = dict(base, leadership=0.95, coordination=0.95, communication=0.95)
    plan = ens.make_plan(base, better, 4, root_seed=2, interventions=[(6, "shock", 0.5)])
    seen = []
    result = ens.run_ensemble(plan, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (8, 8) and len(seen) == 8
    assert result.series["baseline"]["access"].shape == (4, 25)
    _, q = result.quantiles("current", "synergy")
    assert q.shape == (3, 25) and np.all(q[0] <= q[1] + 1e-12) and np.all(q[1] <= q[2] + 1e-12)
    words = result.in_words()
    assert "Access at month 24" in words and "of 4 pairs" in words
    # identical arms: same seeds, so no difference at all
    same = ens.run_ensemble(ens.make_plan(base, base, 3, root_seed=2))
    assert np.array_equal(same.series["baseline"]["access"], same.series["current"]["access"])
    assert "not clearly different" in same.in_words()


def test_replicates_field_is_checked() -> None:
    assert ens.parse_replicates(" 12 ") == 12
    for bad in ("1", "101", "ten", "5.5", ""):
        with pytest.raises(ens.EnsembleError, match="not allowed"):
            ens.parse_replicates(bad)


def test_calibrated_scenario_compares_over_posterior_draws(calibrated: Path) -> None:
    from viz.app import build_plan

    s = WorkshopSession(str(calibrated))
    assert s.posterior is not None and s.posterior.size == 3
    s.set_parameter("leadership", "0.9")
    plan = build_plan(s, 6, replay=False)
    assert plan.posterior
    turnovers = [p["individual_turnover"] for p in plan.baseline.params]
    assert set(turnovers) <= {0.01, 0.04}  # drawn by weight: the particle of weight 0 never
    for b, c in zip(plan.baseline.params, plan.current.params, strict=True):
        assert c == dict(b, leadership=0.9)  # draw k in both arms, the visitor's change on top
    result = ens.run_ensemble(plan)
    assert "posterior draws" in result.in_words()


# ---------------------------------------------------------------------------- pictures
def _svgs(html_text: str) -> list[ET.Element]:
    """Every <svg> in an HTML snippet, parsed as XML (fails on malformed markup)."""
    root = ET.fromstring(f"<root>{html_text}</root>")
    return [el for el in root.iter() if el.tag.endswith("svg")]


def test_pictures_are_well_formed_and_show_what_happened(small: Path) -> None:
    s = WorkshopSession(str(small))
    s.step(3)
    s.key_partner_leaves()
    s.step(2)
    snap = s.snapshot()
    net = figures.network_svg(snap)
    assert len(_svgs(net)) >= 2 and "Month 5:" in net
    assert "Member left, seat waiting" in net and "Patient partner" in net and "Lead" in net
    assert net.count("<circle") >= s.params["seats"]  # every seat drawn, empty ones too
    for html_text in (figures.synergy_svg(snap), figures.access_svg(snap), figures.membership_svg(snap)):
        assert _svgs(html_text) and "Key partner left" in html_text and "stroke-dasharray" in html_text
    assert "Approachability" in figures.access_svg(snap) and "Capacity to adapt" in figures.synergy_svg(snap)
    fan = figures.fan_svg("Access", "share", [("A", "#000", np.arange(5), np.tile(np.linspace(0, 1, 5), (3, 1)))])
    assert _svgs(fan) and "<polygon" in fan


def test_text_in_pictures_is_escaped() -> None:
    s = WorkshopSession()
    snap = s.snapshot()
    snap.marks = [(0, "<script>alert(1)</script>")]
    out = figures.synergy_svg(snap)
    assert "<script>" not in out and "&lt;script&gt;" in out


# ---------------------------------------------------------------------------- components, headless
def _all_widgets(widget):
    yield widget
    for child in getattr(widget, "children", None) or []:
        if hasattr(child, "keys"):
            yield from _all_widgets(child)
    for slot in getattr(widget, "v_slots", None) or []:
        for child in slot.get("children", []) if isinstance(slot.get("children"), list) else [slot.get("children")]:
            if child is not None and hasattr(child, "keys"):
                yield from _all_widgets(child)


def _by_testid(box, testid: str):
    for w in _all_widgets(box):
        attrs = getattr(w, "attributes", None)
        if isinstance(attrs, dict) and attrs.get("data-testid") == testid:
            return w
    raise AssertionError(f"no widget with data-testid={testid!r}")


def _button(rc, label: str):
    return rc.find(v.Btn, children=[label]).widget


def _text_field(rc, label: str):
    return rc.find(v.TextField, label=label).widget


def _type(field, text: str) -> None:
    field.v_model = text
    field.fire_event("keyup.enter", text)


def _page():
    from viz.app import Page

    return solara.render(solara.AppLayout(children=[Page()]), handle_error=False)


def _month(box) -> str:
    return _by_testid(box, "month").unsafe_innerHTML


def test_page_renders_steps_and_resets_headless() -> None:
    box, rc = _page()
    assert _month(box) == "Month 0 of 60"
    for label in ("Step", "Play", "Reset", "System shock now", "Add a dedicated coordinator", "A key partner leaves",
                  "Recruit a patient partner"):  # fmt: skip
        rc.find(v.Btn, children=[label]).assert_single()
    _button(rc, "Step").click()
    _button(rc, "Step").click()
    assert _month(box) == "Month 2 of 60"
    assert "Month 2:" in _by_testid(box, "view-network").unsafe_innerHTML
    _button(rc, "A key partner leaves").click()
    assert "Key partner left" in _by_testid(box, "view-synergy").unsafe_innerHTML
    _button(rc, "Reset").click()
    assert _month(box) == "Month 0 of 60"
    assert "Key partner left" not in _by_testid(box, "view-synergy").unsafe_innerHTML
    rc.close()


def test_play_runs_in_the_background_and_pause_stops_it_headless() -> None:
    box, rc = _page()
    _button(rc, "Play").click()
    deadline = time.monotonic() + 10
    while _month(box) == "Month 0 of 60" and time.monotonic() < deadline:
        time.sleep(0.05)
    rc.find(v.Btn, children=["Pause"]).widget.click()
    reached = _month(box)
    assert reached != "Month 0 of 60"
    time.sleep(0.6)
    assert _month(box) == reached  # paused: it stays
    rc.close()


def test_a_bad_value_gets_an_inline_message_and_the_page_keeps_working() -> None:
    box, rc = _page()
    tabs = rc.find(v.Tabs).widget
    tabs.v_model = 1
    field = _text_field(rc, labels.parameter_label("leadership"))
    _type(field, "1.7")
    assert field.error is True and any("not allowed" in m for m in field.messages)
    _type(field, "0.8")
    assert field.error is False
    seats = _text_field(rc, labels.parameter_label("seats"))
    _type(seats, "abc")
    assert seats.error is True
    seed = _text_field(rc, "Seed (same seed, same chance events)")
    _type(seed, "-4")
    assert seed.error is True and any("an integer in [0, 2^63 - 1]" in m for m in seed.messages)
    _button(rc, "Step").click()
    assert _month(box) == "Month 1 of 60"
    rc.close()


def test_two_pages_have_their_own_models() -> None:
    box1, rc1 = _page()
    box2, rc2 = _page()
    for _ in range(3):
        _button(rc1, "Step").click()
    assert _month(box1) == "Month 3 of 60" and _month(box2) == "Month 0 of 60"
    rc1.close()
    rc2.close()


def test_compare_and_export_tabs_headless(tmp_path: Path) -> None:
    box, rc = _page()
    tabs = rc.find(v.Tabs).widget
    tabs.v_model = 2
    reps = _text_field(rc, "Runs per arm (replicates)")
    reps.v_model = "1"
    assert reps.error is True
    reps.v_model = "3"
    assert reps.error is False
    _button(rc, "Run the comparison").click()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            words = _by_testid(box, "compare-words").unsafe_innerHTML
            break
        except AssertionError:
            time.sleep(0.1)
    else:
        raise AssertionError("the comparison did not finish in 60 s")
    assert "Access at month 60" in words and "of 3 pairs" in words
    _by_testid(box, "fan-access")
    tabs.v_model = 3
    text = _by_testid(box, "export-text").unsafe_innerHTML
    assert "[parameters]" in text and "seats = 20" in text
    path = tmp_path / "downloaded.toml"
    path.write_text(html.unescape(text))
    assert load_scenario(path) == validate_parameters({})  # what the download gives
    assert rc.find(v.Btn, children=["Save"]).widgets == []  # offered as a download only: nothing saved on the server
    rc.close()


PATHLIKE_LABEL = re.compile(r"path|file|save|folder|director|computer|server|disk", re.IGNORECASE)


def test_no_field_on_any_tab_takes_a_path(tmp_path: Path) -> None:
    canary = tmp_path / "canary.toml"
    canary.write_text('name = "CANARY"\ndescription = "must never be read"\n[parameters]\nseats = 9\n')
    box, rc = _page()
    tabs = rc.find(v.Tabs).widget
    seen = set()
    for tab in range(4):
        tabs.v_model = tab
        for field in rc.find(v.TextField).widgets:
            label = str(field.label or "")
            assert not PATHLIKE_LABEL.search(label), f"a field that looks like it takes a path: {label!r}"
            if label in seen:
                continue
            seen.add(label)
            field.v_model = str(canary)  # a path typed anywhere is refused or taken as text, never opened
            if any(k.startswith("keyup.enter") for k in field._event_handlers_map):
                field.fire_event("keyup.enter", str(canary))
    assert {"Seed (same seed, same chance events)", "Runs per arm (replicates)", "Scenario name"} <= seen
    assert len(seen) > 20  # the parameter fields of the Settings tab were typed into too
    text = " ".join(str(getattr(w, "unsafe_innerHTML", "") or "") for w in _all_widgets(box))
    assert "CANARY" not in text and "must never be read" not in text
    for select in rc.find(v.Select).widgets:  # the lists take only their own items, whatever the browser sends
        assert not PATHLIKE_LABEL.search(str(select.label or "")) or select.label == "This workshop's scenario files"
        select.v_model = str(canary)
    assert "CANARY" not in " ".join(str(getattr(w, "unsafe_innerHTML", "") or "") for w in _all_widgets(box))
    assert _month(box) == "Month 0 of 60"
    rc.close()


def _wait(check, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _alert_texts(rc) -> list[str]:
    out = []
    for alert in rc.find(v.Alert).widgets:
        out.extend(str(c) for c in alert.children if isinstance(c, str))
    return out


def test_an_oversized_upload_is_refused_with_a_message_headless() -> None:
    from viz.upload import ScenarioDropZone

    box, rc = _page()
    zone = rc.find(ScenarioDropZone).widget
    assert "at most 1 MiB" in zone.label and "drop it here, or click to choose it" in zone.label
    zone.file_info = [{"name": "huge.toml", "isFile": True, "size": 200 * 1024 * 1024, "pick": 1}]
    assert _wait(lambda: any("larger than 1 MiB" in t for t in _alert_texts(rc))), _alert_texts(rc)
    message = next(t for t in _alert_texts(rc) if "larger than 1 MiB" in t)
    assert message.startswith("huge.toml is larger than 1 MiB")
    _button(rc, "Step").click()  # the page goes on
    assert _month(box) == "Month 1 of 60"
    rc.close()


def test_the_scenario_folder_is_listed_by_name_and_opens_nothing_else(folder: Path, monkeypatch) -> None:
    monkeypatch.setenv(SCENARIOS_DIR_ENV, str(folder))
    box, rc = _page()
    listing = rc.find(v.Select, label="This workshop's scenario files").widget
    assert [i if isinstance(i, str) else i.get("value", i.get("text")) for i in listing.items] == [
        "b linked.toml", "big.toml", "ours.toml"]  # fmt: skip
    for sneaky in ("../secret.toml", "escape.toml", "passwd.toml", "/etc/passwd"):
        listing.v_model = sneaky
        assert _month(box) == "Month 0 of 60" and not any("secret" in t for t in _alert_texts(rc))
    listing.v_model = "ours.toml"
    assert _wait(lambda: any("Loaded 'pccp'" in t for t in _alert_texts(rc))), _alert_texts(rc)
    rc.close()


def test_the_app_module_builds_nothing_at_import() -> None:
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "import model.model as mm\n"
        "built = []\n"
        "orig = mm.PartnershipModel.__init__\n"
        "mm.PartnershipModel.__init__ = lambda self, *a, **k: (built.append(1), orig(self, *a, **k))[1]\n"
        "import viz.app\n"
        "assert built == [], built\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr


@pytest.mark.parametrize(
    "host, loopback",
    [("localhost", True), ("localhost:8765", True), ("127.0.0.1:8765", True), ("127.9.9.9", True), ("[::1]:80", True),
     ("::1", True), ("evil.example", False), ("127.0.0.1.evil.example:80", False), ("0.0.0.0", False), ("", False),
     ("192.168.1.4:8765", False)],
)
def test_only_loopback_host_names_pass_the_loopback_gate(host, loopback):
    from viz.solara_server import _loopback_host

    assert _loopback_host(host) is loopback
