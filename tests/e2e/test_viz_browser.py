"""The workshop page in a real browser: a facilitator's walk through it, and two visitors at once."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from model.scenarios import load_scenario
from viz.files import UPLOAD_LIMIT_BYTES
from viz.labels import parameter_label

pytestmark = pytest.mark.e2e


def month_of(page) -> int:
    text = page.get_by_test_id("month").inner_text()
    match = re.match(r"Month (\d+) of", text)
    assert match, text
    return int(match.group(1))


def wait_month(page, month: int, horizon: int = 60, timeout: float = 30_000) -> None:
    page.get_by_text(f"Month {month} of {horizon}", exact=False).first.wait_for(timeout=timeout)


def settle_paused(page) -> int:
    """The month after a pause: once Play shows again no month is added (the page pauses under the model's lock)."""
    page.get_by_role("button", name="Play", exact=True).wait_for()
    time.sleep(0.3)  # the last frame's picture, if one was on its way
    return month_of(page)


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()


def field(page, label: str):
    return page.get_by_label(label, exact=True)


def upload(page, name: str, content: bytes) -> None:
    """Choose a file in the scenario box's file chooser (as clicking the box and picking a file does)."""
    page.get_by_test_id("scenario-upload").set_input_files(
        files=[{"name": name, "mimeType": "application/toml", "buffer": content}]
    )


def drop(page, name: str, text: str) -> None:
    """Drop a file on the scenario box (the browser's own drop event, with the file in its DataTransfer)."""
    page.get_by_test_id("scenario-drop").evaluate(
        """(zone, [name, text]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, {type: 'application/toml'}));
            zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        }""",
        [name, text],
    )


def eventually(check, timeout: float = 15.0) -> bool:
    """True once ``check()`` is (the page re-renders its views in separate updates)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_a_facilitators_walk_through_the_page(server, open_page, screenshots, tmp_path: Path) -> None:
    _, page = open_page()
    wait_month(page, 0)
    for view in ("view-network", "view-synergy", "view-access", "view-membership"):
        assert page.get_by_test_id(view).locator("svg").first.is_visible()
    for words in ("How to read this.", "Decision maker", "Patient partner", "Seat given up"):
        assert page.get_by_text(words).first.is_visible()
    page.screenshot(path=str(screenshots / "viz-01-loaded.png"), full_page=True)

    # step, one month at a time (and time it: click to the new month on screen)
    latencies = []
    for k in range(1, 6):
        start = time.perf_counter()
        button(page, "Step").click()
        wait_month(page, k)
        latencies.append(time.perf_counter() - start)
    print(f"\nstep latency, one session: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")  # fmt: skip

    # play, then pause: the month moves, then stays
    button(page, "Play").click()
    button(page, "Pause").wait_for()
    deadline = time.monotonic() + 20
    while month_of(page) < 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert month_of(page) >= 10
    button(page, "Pause").click()
    paused = settle_paused(page)
    time.sleep(1.0)
    assert month_of(page) == paused
    button(page, "Play").wait_for()

    # move a control: a good value changes the running model (marked); a bad one gets an inline message
    tab(page, "Settings")
    leadership = field(page, parameter_label("leadership"))
    leadership.fill("0.9")
    leadership.press("Enter")
    page.get_by_text(f"Applied at month {paused}.").wait_for()
    communication = field(page, parameter_label("communication"))
    communication.fill("lots")
    communication.press("Enter")
    page.get_by_text("'lots' is not allowed for 'Quality of communication'").wait_for()
    seats = field(page, parameter_label("seats"))
    seats.fill("16")
    seats.press("Enter")
    page.get_by_text("Takes effect when you press Reset.").wait_for()
    page.get_by_text("These take effect when you press Reset").wait_for()
    page.screenshot(path=str(screenshots / "viz-02-settings.png"), full_page=True)
    button(page, "Step").click()  # the page keeps working
    wait_month(page, paused + 1)
    tab(page, "The partnership")
    assert eventually(lambda: "Facilitative leadership: 0.9" in page.get_by_test_id("view-synergy").inner_html())

    # reset: a new run with the new table (16 seats), the last good values kept
    button(page, "Reset").click()
    wait_month(page, 0)
    page.get_by_text("Month 0: 16 of 16 seats filled").wait_for()
    synergy = page.get_by_test_id("view-synergy")
    assert eventually(lambda: "Facilitative leadership" not in synergy.inner_html())

    # each intervention, marked on the time series
    for k in range(1, 4):
        button(page, "Step").click()
        wait_month(page, k)
    for name, words in [
        ("System shock now", "System shock (50%)"),
        ("Add a dedicated coordinator", "Coordinator joined"),
        ("A key partner leaves", "Key partner left"),
        ("Recruit a patient partner", "Patient partner joined"),
    ]:
        button(page, name).click()
        page.get_by_text(re.compile(r"^Month 3: ")).first.wait_for()
        page.get_by_test_id("view-synergy").get_by_text(words, exact=True).first.wait_for()
        assert eventually(lambda words=words: words in page.get_by_test_id("view-access").inner_html())
    for k in range(4, 9):
        button(page, "Step").click()
        wait_month(page, k)
    page.screenshot(path=str(screenshots / "viz-03-interventions.png"), full_page=True)

    # compare: an ensemble of the current settings (and the interventions) against the baseline
    tab(page, "Compare")
    replicates = field(page, "Runs per arm (replicates)")
    replicates.fill("1")
    page.get_by_text("'1' is not allowed").wait_for()
    replicates.fill("6")
    button(page, "Run the comparison").click()
    words = page.get_by_test_id("compare-words")
    words.wait_for(timeout=90_000)
    assert re.search(r"Access at month 60: .* of 6 pairs", words.inner_text())
    assert page.get_by_test_id("fan-access").locator("polygon").count() == 2
    page.screenshot(path=str(screenshots / "viz-04-compare.png"), full_page=True)

    # export as a scenario file, download it, and load it back
    tab(page, "Export")
    name = field(page, "Scenario name")
    name.fill("roundtrip")
    page.get_by_test_id("export-text").get_by_text('name = "roundtrip"').wait_for()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the scenario file").click()
    exported = tmp_path / download.value.suggested_filename
    download.value.save_as(exported)
    assert exported.name == "roundtrip.toml"
    params = load_scenario(exported)
    assert params["leadership"] == 0.9 and params["seats"] == 16
    page.screenshot(path=str(screenshots / "viz-05-export.png"), full_page=True)

    # give it back to the page: a file too big is refused with a message; the exported one, dropped, loads
    upload(page, "huge.toml", b"#" * (UPLOAD_LIMIT_BYTES + 1))
    page.get_by_text("huge.toml is larger than 1 MiB").wait_for()
    drop(page, exported.name, exported.read_text())
    page.get_by_text("Loaded 'roundtrip'").wait_for()
    wait_month(page, 0)
    tab(page, "Settings")
    assert field(page, parameter_label("leadership")).input_value() == "0.9"
    assert field(page, parameter_label("seats")).input_value() == "16"
    page.screenshot(path=str(screenshots / "viz-06-reloaded.png"), full_page=True)
    server.check_clean()


def test_files_come_only_by_upload_drop_or_the_scenario_folder(server, open_page, screenshots) -> None:
    _, page = open_page()
    # no field of the page names a file or a path: files come by upload or drop, and go by download
    assert page.get_by_label(re.compile(r"path|save|folder|computer", re.IGNORECASE)).count() == 0
    typed = set()
    tabs = {"Settings": parameter_label("leadership"), "Compare": "Runs per arm (replicates)",
            "Export": "One-line description", "The partnership": "Seed (same seed, same chance events)"}  # fmt: skip
    for name, last_field in tabs.items():  # each tab renders when first opened: wait for one of its fields
        tab(page, name)
        field(page, last_field).wait_for()
        typed |= set(page.locator("input[type=text]:not([readonly]), textarea").evaluate_all(
            "els => els.map(e => (e.labels && e.labels[0] ? e.labels[0].innerText : ''))"
        ))  # the fields one can type in (a list's own input is read-only); fmt: skip
    assert set(tabs.values()) | {parameter_label("communication")} <= typed, typed
    assert not [t for t in typed if re.search(r"path|file|save|folder", t, re.IGNORECASE)], typed

    # the facilitator's folder (--scenarios): listed by name, only its own regular .toml files
    room = server.room_scenario
    page.locator(".v-select", has_text="This workshop's scenario files").locator(".v-input__slot").click()
    options = page.get_by_role("option")
    options.first.wait_for()
    assert options.all_inner_texts() == [room]  # the link out of the folder is not listed
    page.get_by_role("option", name=room).click()
    page.get_by_text("Loaded 'room case'").wait_for()
    page.get_by_text(f"Loaded: room case, from {room} (this workshop's files)").wait_for()

    # a broken upload: the message names the field and the file's own value, nothing of the server
    upload(page, "mine.toml", b'name = "mine"\ndescription = "d"\n[parameters]\nleadership = 7\n')
    message = page.get_by_text("mine.toml: [parameters] leadership = 7 is not allowed")
    message.wait_for()
    assert "/" not in message.inner_text().replace("[0, 1]", "")
    upload(page, "mine.toml", b'name = "mine"\ndescription = "d"\n[parameters]\nseats = 14\n')  # chosen, not dropped
    page.get_by_text("Loaded 'mine'").wait_for()
    page.get_by_text("Month 0: 14 of 14 seats filled").wait_for()
    page.screenshot(path=str(screenshots / "viz-08-files.png"), full_page=True)
    server.check_clean()


def test_two_sessions_at_once_stay_independent(server, open_page, screenshots) -> None:
    _, a = open_page()
    _, b = open_page()
    for k in range(1, 4):
        button(a, "Step").click()
        wait_month(a, k)
    assert month_of(b) == 0
    button(b, "Play").click()
    deadline = time.monotonic() + 20
    while month_of(b) < 6 and time.monotonic() < deadline:
        time.sleep(0.1)
    button(b, "Pause").click()
    b_month = settle_paused(b)
    assert b_month >= 6 and month_of(a) == 3  # B's Play never moved A
    button(a, "A key partner leaves").click()
    a.get_by_test_id("view-synergy").get_by_text("Key partner left", exact=True).wait_for()
    assert "Key partner left" not in b.get_by_test_id("view-synergy").inner_html()
    button(a, "Reset").click()
    wait_month(a, 0)
    assert month_of(b) == b_month
    b.screenshot(path=str(screenshots / "viz-07-second-session.png"), full_page=True)
    server.check_clean()
