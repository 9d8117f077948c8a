"""The workshop page without a browser: sessions, export round trip, comparison, pictures, and components
rendered headless with solara."""

from __future__ import annotations

import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

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
from viz.session import SessionError, WorkshopSession, scenario_toml, seat_positions


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
    assert cmd[:4] == ["py", "-m", "solara", "run"]
    assert cmd[4].endswith("viz/app.py") and Path(cmd[4]).is_file()
    for flag in ("--production", "--no-check-version", "--no-open"):
        assert flag in cmd
    assert cmd[cmd.index("--port") + 1] == "8999" and cmd[cmd.index("--host") + 1] == "127.0.0.1"
    env = serve.offline_env({"PATH": "/bin"})
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_CDN"].startswith("http://127.0.0.1:")  # a dead loopback port, never a CDN
    assert env["PATH"] == "/bin" and str(Path(serve.__file__).resolve().parent.parent) in env["PYTHONPATH"]
    assert serve.check_assets() is None  # solara-assets is installed with the viz extra


def test_serve_refuses_a_bad_port(capsys) -> None:
    assert serve.serve("127.0.0.1", 70000) == 2
    assert "--port 70000 is not allowed" in capsys.readouterr().err


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
    with pytest.raises(SessionError, match="whole number"):
        s.set_seed("-1")
    with pytest.raises(SessionError, match="whole number"):
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
                "nonfinancial_resources": 2.0, "population_size": 500, "population_vulnerability": 0.7, "steps": 30}
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


def test_a_dropped_file_is_saved_under_a_safe_name_and_loads(tmp_path: Path) -> None:
    from viz.app import save_upload

    text = (shipped_paths()["chrp"]).read_bytes()
    target = save_upload({"name": "../../etc/my scenario", "size": len(text), "file_obj": None, "data": text}, tmp_path)
    assert target.parent == tmp_path and target.name == "my_scenario.toml"
    s = WorkshopSession()
    s.load(str(target))
    assert s.params == load_scenario("chrp")


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
    assert seed.error is True and any("whole number" in m for m in seed.messages)
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
    target = tmp_path / "saved.toml"
    _text_field(rc, "...or save it on this computer as").v_model = str(target)
    _button(rc, "Save").click()
    assert load_scenario(target) == validate_parameters({})
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
