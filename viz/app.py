"""The workshop page: the partnership model live in a browser, for a room of partners.

    make viz                       (or: phc-synergy viz [--host H] [--port P], python -m viz.serve)

Served by Solara (``solara run viz/app.py``, offline: see ``viz/serve.py``). Every
browser tab gets its own :class:`viz.session.WorkshopSession` (built inside
:func:`Page`, never at module level), so one person's Play never moves another's.
Views refresh through Mesa's visualisation counter
(``mesa.visualization.utils.update_counter`` / ``force_update``).

Why not Mesa's ``SolaraViz`` frame itself: its Reset rebuilds the model from
parameters captured at first render (our settings come from scenarios and
validated fields), its views sit in a draggable grid (one slip of a hand in front
of a room moves them), and its Play button is a bare symbol. The page keeps
Mesa's model, its refresh counter and its Step/Play/Pause/Reset pattern, with
controls generated from the parameter schema.
"""

from __future__ import annotations

import contextlib
import html
import math
import re
import time
import warnings
from typing import cast

import solara
import solara.lab
from reacton.core import get_render_context

from model.parameters import PARAMETERS, parameters_by_level
from viz import ensemble as ens
from viz import figures
from viz.files import UPLOAD_LIMIT_WORDS, FileRefused, ScenarioFolder, display_name, read_upload
from viz.labels import (
    HOW_TO_READ,
    INTERVENTION_HELP,
    INTRO,
    LEVEL_TITLES,
    MAIN_LEVELS,
    TITLE,
    parameter_hint,
    parameter_label,
)
from viz.session import (
    DEFAULT_SCENARIO,
    FROM_FOLDER,
    SHOCK_SEVERITY,
    SessionError,
    WorkshopSession,
    _show,
    default_text,
    scenario_choices,
    source_label,
)
from viz.upload import ScenarioUpload

# Importing Mesa's visualisation runs Solara's hook checks on Mesa's own ComponentsView, which warns
# (a harmless early return there); the page does not use that component.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r".*ComponentsView.*use_state.*", category=UserWarning)
    from mesa.visualization.utils import force_update, update_counter

FRAME_SECONDS = 0.25  # the play loop wakes up this often; the model advances at the chosen months per second
DEFAULT_SPEED = 4  # months per second
CARD_TEXT = "font-size:14px;color:#444;margin:0 0 8px 0;line-height:1.45"


def refresh(session: WorkshopSession) -> None:
    """Redraw what depends on the model: Mesa's ``force_update``, batched into one render pass.

    Every component that reads Mesa's refresh counter would otherwise get a render
    pass of its own (each walks the whole page): one pass is several times cheaper.
    """
    rc = getattr(session, "render_context", None)
    with rc if rc is not None else contextlib.nullcontext():
        force_update()


def _p(text: str, style: str = CARD_TEXT) -> None:
    solara.HTML(tag="p", unsafe_innerHTML=html.escape(text), style=style)


# ---------------------------------------------------------------------------- the sidebar
@solara.component
def ScenarioPicker(session: WorkshopSession, on_loaded) -> None:
    """Pick a shipped scenario or one of the scenario folder's files, or upload one (drop it, or choose it).

    No field takes a path: the lists hold names only (a name not in a list is refused
    before any file is looked at), and an upload is read from the browser, capped.
    """
    choices = solara.use_memo(scenario_choices, [])
    names = [n for n, _ in choices]
    described = dict(choices)
    folder = solara.use_memo(ScenarioFolder.from_env, [])
    folder_names = solara.use_memo(lambda: folder.names() if folder is not None else [], [])
    error, set_error = solara.use_state(None)

    def loaded(action) -> None:
        try:
            action()
        except (SessionError, FileRefused) as exc:
            set_error(str(exc))
            return
        set_error(None)
        on_loaded()

    def pick_shipped(name) -> None:
        if name in names:  # the browser sends the value: only a listed name is ever loaded
            loaded(lambda: session.load_shipped(name))

    def pick_folder(name) -> None:
        if folder is not None and name in folder_names:
            loaded(lambda: session.load_bytes(folder.read(name), name, FROM_FOLDER))

    received, set_received = solara.use_state(cast(tuple | None, None))

    def on_file(info) -> None:
        # in the upload's thread: only read here; the loading (which re-keys this picker) happens in the effect below
        name = display_name(info.get("name", ""))
        try:
            set_received((name, read_upload(info), None))
        except FileRefused as exc:
            set_received((name, None, str(exc)))

    def take_received() -> None:
        if received is None:
            return
        name, data, refusal = received
        if refusal is not None:
            set_error(refusal)
        else:
            loaded(lambda: session.load_bytes(data, name))

    solara.use_effect(take_received, [received])

    current = session.scenario if session.scenario in names else None
    solara.Select("Scenario", values=names, value=current, on_value=pick_shipped)
    if current:
        _p(described.get(current, ""), "font-size:13px;color:#555;margin:-4px 0 6px 0")
    else:
        _p(f"Loaded: {session.scenario_info.name}, from {session.scenario}",
           "font-size:13px;color:#555;margin:-4px 0 6px 0")  # fmt: skip
    if folder_names:
        folder_current = next((n for n in folder_names if session.scenario == source_label(n, FROM_FOLDER)), None)
        solara.Select("This workshop's scenario files", values=folder_names, value=folder_current,
                      on_value=pick_folder)  # fmt: skip
    ScenarioUpload(UPLOAD_LABEL, on_file)
    if error:
        solara.Error(error, dense=True)
    if session.posterior is not None:
        _p(f"This scenario carries a calibration posterior ({session.posterior.size} particles): "
           "comparisons draw from it.", "font-size:13px;color:#1b5e20")  # fmt: skip


UPLOAD_LABEL = f"Your own scenario file (.toml, at most {UPLOAD_LIMIT_WORDS}): drop it here, or click to choose it"


@solara.component
def SeedField(session: WorkshopSession, version: int) -> None:
    text, set_text = solara.use_state(str(session.seed))
    error, set_error = solara.use_state(None)
    note, set_note = solara.use_state(None)

    def on_value(value) -> None:
        set_text(value or "")
        try:
            result = session.set_seed(value or "")
        except SessionError as exc:
            set_error(str(exc))
            return
        set_error(None)
        set_note(None if result == "unchanged" else result)
        refresh(session)

    solara.InputText(
        "Seed (same seed, same chance events)", value=text, on_value=on_value, error=error or False, message=note
    )


@solara.component
def RunControls(session: WorkshopSession, playing: solara.Reactive[bool]) -> None:
    """Step, Play/Pause, Reset, the month, the speed; the loop that plays runs in a thread.

    Only the small parts that change as the model runs (buttons, month, notices) read
    Mesa's refresh counter, so a frame re-renders them and the pictures, not the page.
    """
    speed = solara.use_reactive(DEFAULT_SPEED)

    def play_loop() -> None:
        last = time.monotonic()
        carry = 0.0
        while playing.value:
            time.sleep(FRAME_SECONDS)
            if not playing.value:
                break
            now = time.monotonic()
            carry = min(carry + (now - last) * speed.value, float(speed.value))  # never more than a second's worth
            last = now
            months = int(carry)
            if months:
                carry -= months
                with session.lock:  # Pause takes the lock too: once it has returned, no month is added
                    if not playing.value:
                        break
                    session.step(months)
                refresh(session)
            if session.finished:
                playing.value = False

    solara.lab.use_task(play_loop, dependencies=[playing.value], prefer_threaded=True)
    RunButtons(session, playing)
    MonthStatus(session)
    solara.SliderInt("Speed of Play (months per second)", value=speed, min=1, max=12)
    Notice(session)


@solara.component
def RunButtons(session: WorkshopSession, playing: solara.Reactive[bool]) -> None:
    update_counter.get()

    def do_step() -> None:
        session.step(1)
        refresh(session)

    def do_reset() -> None:
        playing.value = False
        session.reset()
        session.notify("info", f"Run {session.builds}: a new run from the current settings (seed {session.seed}).")
        refresh(session)

    def toggle() -> None:
        rc = getattr(session, "render_context", None)
        # the render waits for the outer block: it happens after the lock is released
        with rc if rc is not None else contextlib.nullcontext(), session.lock:
            playing.value = not playing.value

    finished = session.finished
    with solara.Row(gap="8px"):
        solara.Button("Step", on_click=do_step, color="primary", disabled=playing.value or finished)
        solara.Button(
            "Pause" if playing.value else "Play",
            on_click=toggle,
            color="primary",
            disabled=finished and not playing.value,
        )
        solara.Button("Reset", on_click=do_reset, color="primary", outlined=True)


@solara.component
def MonthStatus(session: WorkshopSession) -> None:
    update_counter.get()
    status = f"Month {session.month} of {session.horizon}"
    if session.finished:
        status += ": the end of the run (Reset to start again)"
    solara.HTML(tag="div", unsafe_innerHTML=html.escape(status), style="font-size:18px;font-weight:500;margin:8px 0",
                attributes={"data-testid": "month"})  # fmt: skip
    if session.pending:
        names = ", ".join("seed" if n == "seed" else parameter_label(n) for n in sorted(session.pending))
        solara.Warning(f"Changed: {names}. These take effect when you press Reset.", dense=True)


@solara.component
def Notice(session: WorkshopSession) -> None:
    """The outcome of the last thing done (an intervention, a reset, a refusal)."""
    update_counter.get()
    kind, text = session.notice
    {"error": solara.Error, "success": solara.Success}.get(kind, solara.Info)(text, dense=True)


@solara.component
def Interventions(session: WorkshopSession) -> None:
    """What people can do while it runs; each one is marked on the time-series plots."""
    severity = solara.use_reactive(SHOCK_SEVERITY)
    _p("Try these while it runs. Each is marked on the plots with a dashed line.",
       "font-size:13px;color:#555;margin:0 0 6px 0")  # fmt: skip
    solara.SliderFloat("Severity of the shock", value=severity, min=0.1, max=1.0, step=0.05)
    InterventionButtons(session, severity)


@solara.component
def InterventionButtons(session: WorkshopSession, severity: solara.Reactive[float]) -> None:
    update_counter.get()

    def act(action) -> None:
        try:
            session.notify("success", action())
        except SessionError as exc:
            session.notify("error", str(exc))
        refresh(session)

    finished = session.finished
    buttons = [
        ("System shock now", lambda: session.shock(severity.value), INTERVENTION_HELP["shock"]),
        ("Add a dedicated coordinator", session.add_coordinator, INTERVENTION_HELP["coordinator"]),
        ("A key partner leaves", session.key_partner_leaves, INTERVENTION_HELP["key_partner"]),
        ("Recruit a patient partner", lambda: session.recruit("patient_partner"), INTERVENTION_HELP["recruit"]),
    ]
    with solara.Column(gap="6px"):
        for label, action, help_text in buttons:
            with solara.Tooltip(help_text):
                solara.Button(label, on_click=lambda a=action: act(a), disabled=finished, outlined=True,
                              color="primary", style="width:100%")  # fmt: skip


# ---------------------------------------------------------------------------- the views
VIEWS = {
    "network": figures.network_svg,
    "synergy": figures.synergy_svg,
    "access": figures.access_svg,
    "membership": figures.membership_svg,
}


@solara.component
def LiveView(session: WorkshopSession, which: str) -> None:
    """One picture, redrawn whenever the model moves (it reads Mesa's refresh counter)."""
    tick = update_counter.get()
    svg = VIEWS[which](session.snapshot_for(tick))
    solara.HTML(tag="div", unsafe_innerHTML=svg, attributes={"data-testid": f"view-{which}"})


@solara.component
def ViewCard(session: WorkshopSession, title: str, which: str) -> None:
    with solara.Card(title, margin=0):
        solara.HTML(tag="p", unsafe_innerHTML=f"<b>How to read this.</b> {html.escape(HOW_TO_READ[which])}",
                    style=CARD_TEXT)  # fmt: skip
        LiveView(session, which)


@solara.component
def WatchTab(session: WorkshopSession) -> None:
    """The network, synergy, access and membership."""
    with solara.Columns([1, 1], gutters_dense=True):
        with solara.Column():
            ViewCard(session, "The partnership table", "network")
            ViewCard(session, "Membership", "membership")
        with solara.Column():
            ViewCard(session, "Synergy", "synergy")
            ViewCard(session, "Access to care", "access")


# ---------------------------------------------------------------------------- settings
def _slider_spec(name: str) -> tuple[str, float, float, float] | None:
    """(kind, low, high, step) of a field's slider, or None when a slider would not help (huge ranges)."""
    p = PARAMETERS[name]
    if p.kind is dict or p.low is None or p.high is None:
        return None
    if p.kind is int:
        return ("int", p.low, p.high, 1) if p.high - p.low <= 60 else None
    return ("float", p.low, p.high, 10.0 ** math.floor(math.log10((p.high - p.low) / 100)))


@solara.component
def ParameterField(session: WorkshopSession, name: str) -> None:
    """One parameter: a text field (a bad value gets an inline message) and, where it helps, a slider."""
    text, set_text = solara.use_state(default_text(name, session.params))
    error, set_error = solara.use_state(None)
    note, set_note = solara.use_state(None)

    def commit(value) -> None:
        try:
            result = session.set_parameter(name, value)
        except SessionError as exc:
            set_error(str(exc))
            return
        set_error(None)
        if result == "applied now" and session.month > 0:
            set_note(f"Applied at month {session.month}.")
        elif result == "takes effect when you press Reset":
            set_note("Takes effect when you press Reset.")
        refresh(session)

    def on_text(value) -> None:
        set_text(value or "")
        commit(value or "")

    def on_slider(value) -> None:
        spec = _slider_spec(name)
        if spec is not None and abs(float(value) - float(session.params[name])) < 0.51 * spec[3]:
            return  # the slider snapping a typed value to its grid, not a move by the visitor
        set_text(_show(value))
        commit(value)

    solara.InputText(
        parameter_label(name),
        value=text,
        on_value=on_text,
        error=error or False,
        message=note,
        style={"max-width": "560px"},
    )
    spec = _slider_spec(name)
    if spec is not None:
        kind, low, high, step = spec
        value = session.params[name]
        if kind == "int":
            solara.SliderInt("", value=int(value), min=int(low), max=int(high), step=1, on_value=on_slider,
                             disabled=bool(error))  # fmt: skip
        else:
            solara.SliderFloat("", value=float(value), min=low, max=high, step=step, on_value=on_slider,
                               disabled=bool(error))  # fmt: skip
    _p(parameter_hint(name), "font-size:12px;color:#666;margin:-6px 0 14px 0")


@solara.component
def SettingsTab(session: WorkshopSession, version: int) -> None:
    groups = parameters_by_level()
    _p("Every setting of the model, grouped by level. Type a value or move a slider. Settings about the "
       "table, the population or the number of months start a new run when you press Reset; the others "
       "change the running model at once (and are marked on the plots).")  # fmt: skip
    with solara.Columns([1, 1], gutters_dense=True):
        for column in (MAIN_LEVELS[:2], MAIN_LEVELS[2:]):
            with solara.Column():
                for level in column:
                    with solara.Card(LEVEL_TITLES[level], margin=0):
                        for p in groups[level]:
                            ParameterField(session, p.name).key(f"{p.name}-{version}")
    with (
        solara.Details("More settings: resources, the population served, the length of the run"),
        solara.Columns([1, 1, 1], gutters_dense=True),
    ):
        for level in ("resources", "population", "simulation"):
            with solara.Column(), solara.Card(LEVEL_TITLES[level], margin=0):
                for p in groups[level]:
                    ParameterField(session, p.name).key(f"{p.name}-{version}")
    ModellerSettings(session, version, groups)


@solara.component
def ModellerSettings(session: WorkshopSession, version: int, groups: dict) -> None:
    """The mechanics constants and the ablations, drawn only when asked for (about 65 fields)."""
    shown, set_shown = solara.use_state(False)
    if not shown:
        solara.Button("Show the constants of the model's rules (for modellers)", text=True, color="primary",
                      on_click=lambda: set_shown(True))  # fmt: skip
        return
    solara.Button("Hide the constants of the model's rules", text=True, on_click=lambda: set_shown(False))
    with solara.Columns([1, 1, 1], gutters_dense=True):
        fields = groups["mechanics"]
        third = -(-len(fields) // 3)
        for column in (fields[:third], fields[third : 2 * third], fields[2 * third :]):
            with solara.Column(), solara.Card(LEVEL_TITLES["mechanics"], margin=0):
                for p in column:
                    ParameterField(session, p.name).key(f"{p.name}-{version}")
    with solara.Card(LEVEL_TITLES["ablation"], margin=0):
        for p in groups["ablation"]:
            ParameterField(session, p.name).key(f"{p.name}-{version}")


# ---------------------------------------------------------------------------- comparison
def build_plan(session: WorkshopSession, replicates: int, replay: bool) -> ens.EnsemblePlan:
    """The comparison the Compare tab runs: the loaded scenario against the current settings."""
    interventions = [(i.month, i.kind, i.arg) for i in session.interventions] if replay else []
    draws = None
    if session.posterior is not None:
        draws = session.posterior_draws(replicates, session.seed)
    return ens.make_plan(
        session.base_params,
        session.params,
        replicates,
        session.seed,
        draws=draws,
        changed=session.changed_settings(),
        interventions=interventions,
        baseline_label=f"Baseline: {session.scenario_info.name}",
        current_label="Your settings",
    )


@solara.component
def CompareTab(session: WorkshopSession) -> None:
    update_counter.get()
    reps_text, set_reps_text = solara.use_state(str(ens.DEFAULT_REPLICATES))
    reps_error, set_reps_error = solara.use_state(None)
    replay = solara.use_reactive(True)
    started = solara.use_reactive(0)

    def compute():
        replicates = ens.parse_replicates(reps_text)
        plan = build_plan(session, replicates, replay.value)

        def progress(done: int, total: int) -> None:
            task.progress = 100.0 * done / total

        return ens.run_ensemble(plan, progress=progress)

    task = solara.lab.use_task(compute, dependencies=None, prefer_threaded=True, raise_error=False)

    def on_reps(value) -> None:
        set_reps_text(value or "")
        try:
            ens.parse_replicates(value or "")
            set_reps_error(None)
        except ens.EnsembleError as exc:
            set_reps_error(str(exc))

    def start() -> None:
        if reps_error:
            return
        started.value += 1
        task()

    _p(HOW_TO_READ["compare"])
    changed = session.changed_settings()
    if changed:
        words = "; ".join(f"{parameter_label(k)} = {_show(v)}" for k, v in changed.items())
        _p(f"Your settings differ from '{session.scenario_info.name}' in: {words}.")
    else:
        _p(f"Your settings are those of '{session.scenario_info.name}' (change some on the Settings tab).")
    if session.interventions:
        listed = "; ".join(f"month {i.month}: {i.kind.replace('_', ' ')}" for i in session.interventions)
        solara.Checkbox(label=f"Replay this run's interventions in your arm ({listed})", value=replay)
    if session.posterior is not None:
        _p("The scenario is calibrated: each pair of runs uses one draw from its posterior, so the bands also show "
           "what the calibration leaves uncertain.")  # fmt: skip
    with solara.Row(gap="12px", style="align-items:baseline"):
        solara.InputText("Runs per arm (replicates)", value=reps_text, on_value=on_reps, error=reps_error or False,
                         continuous_update=True, style={"max-width": "260px"})  # fmt: skip
        solara.Button("Run the comparison", on_click=start, color="primary", disabled=task.pending or bool(reps_error))
    if task.pending:
        done = task.progress or 0.0
        solara.ProgressLinear(value=done if done > 0 else True)
        _p(f"Running... {done:.0f}% of the runs done.")
    elif task.error:
        solara.Error(f"The comparison could not run: {task.exception}")
    elif task.finished and task.value is not None:
        result: ens.EnsembleResult = task.value
        solara.HTML(tag="p", unsafe_innerHTML=html.escape(result.in_words()),
                    style="font-size:17px;font-weight:500;margin:8px 0", attributes={"data-testid": "compare-words"})  # fmt: skip
        if result.errors:
            solara.Warning(f"{len(result.errors)} run(s) failed and were left out: {result.errors[0]}")
        arms = [("baseline", result.plan.baseline.label, "#666666"), ("current", result.plan.current.label, "#0072B2")]
        with solara.Columns([1, 1], gutters_dense=True):
            for output, title, ylabel in (("synergy", "Synergy", "0 = none, 1 = full"),
                                          ("access", "Access to care", "share of people")):  # fmt: skip
                fan = [(label, colour, *result.quantiles(arm, output)) for arm, label, colour in arms]
                with solara.Column(), solara.Card(f"{title}: your settings against the baseline", margin=0):
                    solara.HTML(tag="div", unsafe_innerHTML=figures.fan_svg(title, ylabel, fan),
                                attributes={"data-testid": f"fan-{output}"})  # fmt: skip


# ---------------------------------------------------------------------------- export
def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text.strip()).strip("_") or "workshop"


@solara.component
def ExportTab(session: WorkshopSession) -> None:
    """The settings as a scenario file, offered only as a download: the page writes nothing on the server."""
    update_counter.get()
    name, set_name = solara.use_state("workshop")
    description, set_description = solara.use_state("")
    text = session.export_toml(name, description)
    filename = f"{_slug(name)}.toml"

    _p(HOW_TO_READ["export"])
    with solara.Row(gap="12px"):
        solara.InputText("Scenario name", value=name, on_value=lambda v: set_name(v or ""), continuous_update=True)
        solara.InputText("One-line description", value=description, on_value=lambda v: set_description(v or ""),
                         continuous_update=True, style={"min-width": "420px"})  # fmt: skip
    with solara.Row(gap="12px", style="align-items:center"):
        solara.FileDownload(text, filename=filename, mime_type="application/toml",
                            label="Download the scenario file")  # fmt: skip
    _p(f"Then, on a computer with the model: phc-synergy run --scenario {filename} --seed {session.seed}")
    solara.HTML(tag="pre", unsafe_innerHTML=html.escape(text), attributes={"data-testid": "export-text"},
                style="font-size:13px;background:#f6f6f6;padding:10px;white-space:pre-wrap")


# ---------------------------------------------------------------------------- the page
@solara.component
def Page() -> None:
    """One visitor's page: the session (model and settings) is made here, once per browser tab."""
    session = solara.use_memo(lambda: WorkshopSession(DEFAULT_SCENARIO), [])
    session.render_context = get_render_context(required=False)
    solara.use_effect(lambda: session.close, [])
    playing = solara.use_reactive(False)
    version = solara.use_reactive(0)  # bumped when a scenario is loaded: the fields show its values
    tab = solara.use_reactive(0)

    def on_loaded() -> None:
        playing.value = False
        version.value += 1
        session.notify("info", f"Loaded '{session.scenario_info.name}': a new run from its settings.")
        refresh(session)

    solara.Title("Partnership synergy: what if?")
    with solara.AppBar():
        solara.AppBarTitle(TITLE)

    with solara.Sidebar():
        with solara.Card("Scenario", margin=0):
            ScenarioPicker(session, on_loaded).key(f"picker-{version.value}")
            SeedField(session, version.value).key(f"seed-{version.value}")
        with solara.Card("Run", margin=0):
            RunControls(session, playing)
        with solara.Card("Intervene", margin=0):
            Interventions(session)

    _p(INTRO, "font-size:15px;color:#333;margin:4px 0 10px 0;max-width:1100px")
    with solara.lab.Tabs(value=tab, lazy=True):
        with solara.lab.Tab("The partnership"):
            WatchTab(session)
        with solara.lab.Tab("Settings"):
            SettingsTab(session, version.value)
        with solara.lab.Tab("Compare"):
            CompareTab(session)
        with solara.lab.Tab("Export"):
            ExportTab(session)
