"""The virtual evaluator (calibration/observe.py), its tables (calibration/tables.py), observe and recovery."""

from __future__ import annotations

import csv
import json
import tomllib

import numpy as np
import pytest

from calibration.cases import load_case
from calibration.observe import (
    SECTION_INDEX,
    SECTIONS,
    dont_know_chance,
    item_answers,
    observe_run,
    response_chance,
)
from calibration.tables import (
    COLUMNS,
    Design,
    parse_design,
    read_tables,
    restrict,
    summarise,
    table_rows,
)
from model.cli import main
from model.model import PartnershipModel
from model.parameters import validate_parameters

FULL = Design(tables=("survey", "attendance", "roster"), waves=(6, 12), sections=tuple(SECTIONS.items()))


def params(**over):
    return validate_parameters({"seats": 12, "steps": 24, "population_size": 200, **over})


def section_mean(evaluation, section, wave):
    s = evaluation.survey
    rows = (s["section"] == SECTION_INDEX[section]) & (s["wave"] == wave) & (s["answer"] > 0)
    return float(s["answer"][rows].mean())


# ---------------------------------------------------------------------------- the evaluator
def test_observing_a_run_does_not_change_it():
    p = params()
    plain = PartnershipModel(seed=11, **p)
    plain.run()
    from calibration.observe import observe_model

    watched = PartnershipModel(seed=11, **p)
    observe_model(watched, (6, 12))
    for name, values in plain.series().items():
        assert np.array_equal(values, watched.series()[name]), name


def test_the_same_seed_gives_the_same_tables_and_another_seed_others():
    a, b, c = (observe_run(params(), seed, (6, 12)) for seed in (3, 3, 4))
    for kind in ("survey", "attendance", "roster", "milestones"):
        for column in COLUMNS[kind]:
            assert np.array_equal(getattr(a, kind)[column], getattr(b, kind)[column])
    assert not np.array_equal(a.survey["answer"], c.survey["answer"])


def test_the_roster_agrees_with_the_model_counts():
    p = params(individual_turnover=0.05)
    model = PartnershipModel(seed=5, **p)
    from calibration.observe import observe_model

    e = observe_model(model, (6,))
    series = model.series()
    assert len(e.roster["person"]) == int(series["cumulative_members"][-1])
    assert int((e.roster["left"] < 0).sum()) == int(series["active_seats"][-1])
    assert int((e.roster["left"] >= 0).sum()) == int(series["departures"].sum())
    assert (e.roster["left"][e.roster["left"] >= 0] >= e.roster["joined"][e.roster["left"] >= 0]).all()


def test_attendance_lists_the_members_at_each_meeting():
    model = PartnershipModel(seed=2, **params(meeting_interval=3))
    from calibration.observe import observe_model

    e = observe_model(model, ())
    months = np.unique(e.attendance["month"])
    assert months.tolist() == [1, 4, 7, 10, 13, 16, 19, 22]  # meetings every 3 months from month 1
    share = e.attendance["attended"].mean()
    assert 0.2 < share < 1.0


def test_survey_answers_are_1_to_5_or_dont_know_and_only_waves_asked():
    e = observe_run(params(), 8, (6, 12))
    assert set(np.unique(e.survey["wave"]).tolist()) == {6, 12}
    assert set(np.unique(e.survey["answer"]).tolist()) <= {0, 1, 2, 3, 4, 5}
    for section, items in SECTIONS.items():
        rows = e.survey["section"] == SECTION_INDEX[section]
        assert e.survey["item"][rows].max() == items


@pytest.mark.parametrize("process, section", [("leadership", "leadership"), ("coordination", "administration"),
                                              ("communication", "communication"), ("trust_gain", "trust")])
def test_a_process_moves_its_own_section(process, section):
    low = np.mean([section_mean(observe_run(params(**{process: 0.1}), s, (12,)), section, 12) for s in range(6)])
    high = np.mean([section_mean(observe_run(params(**{process: 0.9}), s, (12,)), section, 12) for s in range(6)])
    assert high - low > 0.4, (low, high)


def test_measurement_steps():
    assert np.all(np.diff(response_chance(np.linspace(0, 1, 5))) > 0)
    assert response_chance(np.array([0.0]))[0] == pytest.approx(0.3)
    newcomer, old = dont_know_chance("leadership", np.array([0.0, 24.0]))
    assert newcomer > 0.4 > old
    assert dont_know_chance("benefits", np.array([0.0]))[0] == pytest.approx(0.03)
    answers = item_answers(np.repeat([[0.0], [1.0]], 2000, axis=1), np.random.default_rng(1))
    assert answers.min() == 1 and answers.max() == 5
    assert answers[0].mean() < 1.5 and answers[1].mean() > 4.5


# ---------------------------------------------------------------------------- the tables
def write_tables(evaluation, folder):
    paths = {}
    for kind in ("survey", "attendance", "roster"):
        path = folder / f"{kind}.csv"
        with path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS[kind])
            w.writerows(table_rows(evaluation, kind))
        paths[kind] = path
    return paths


def test_tables_written_and_read_back_give_the_same_statistics(tmp_path):
    e = observe_run(params(), 21, (6, 12))
    back = read_tables(write_tables(e, tmp_path), 24, tmp_path)
    types = sorted(set(e.roster["type"].tolist()))
    for a, b in zip(summarise(e, FULL, types), summarise(back, FULL, types), strict=True):
        assert a.key == b.key
        assert a.value == pytest.approx(b.value, nan_ok=True) and a.se == pytest.approx(b.se, nan_ok=True)


def test_statistics_have_sampling_errors_and_designs_restrict_them():
    e = observe_run(params(), 22, (6, 12))
    stats = {s.key: s for s in summarise(e, FULL, list(range(6)))}
    assert "survey:leadership@6" in stats and "roster:people@24" in stats and "attendance:all@12" in stats
    assert all(s.se > 0 for s in stats.values() if not np.isnan(s.value))
    psat1 = parse_design("roster+psat1", FULL)
    assert psat1.waves == (6,) and "trust" not in dict(psat1.sections)
    keys = {s.key for s in summarise(restrict(e, psat1), psat1, list(range(6)))}
    assert "survey:leadership@6" in keys and "survey:leadership@12" not in keys
    assert not any(k.startswith(("survey:trust", "attendance")) for k in keys)
    for bad in ("", "roster+minutes", "survey+psat"):
        with pytest.raises(ValueError):
            parse_design(bad, FULL)


# ---------------------------------------------------------------------------- the commands
def test_observe_writes_tables_and_a_synthetic_case_that_loads(tmp_path, capsys):
    out = tmp_path / "obs"
    assert main(["observe", "--set", "seats=10", "--steps", "24", "--seed", "4", "--waves", "6,12",
                 "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    for kind in ("survey", "attendance", "roster", "milestones"):
        assert f"{kind}.csv" in names and f"{kind}.parquet" in names
    doc = tomllib.loads((out / "case.toml").read_text())
    assert doc["provenance"]["synthetic"] is True
    assert doc["provenance"]["generated"]["truth"]["leadership"] == 0.6
    case = load_case(out / "case.toml")
    assert case.design.waves == (6, 12) and case.synthetic
    assert any(o.key == "survey:leadership@6" for o in case.observations)
    import pandas as pd

    assert len(pd.read_parquet(out / "survey.parquet")) == len(pd.read_csv(out / "survey.csv"))
    assert main(["observe", "--out", str(out)]) == 2  # never overwrites


def test_the_shipped_synthetic_evaluation_is_what_the_model_makes_now():
    from calibration.synthetic_evaluation import main as regenerate

    assert regenerate(["--check"]) == 0
    case = load_case("synthetic_evaluation")
    assert case.synthetic and "SYNTHETIC" in case.description
    assert case.design.tables == ("survey", "attendance", "roster") and case.design.waves == (12, 24, 36)


def test_a_case_with_tables_calibrates_and_checks_its_tables(tmp_path):
    from calibration.abc import calibrate, make_settings

    folder = tmp_path / "obs"
    assert main(["observe", "--set", "seats=8", "--steps", "12", "--seed", "9", "--waves", "6",
                 "--out", str(folder)]) == 0
    case = load_case(folder / "case.toml")
    settings = make_settings(case, ["leadership", "individual_turnover"], population=20, generations=2)
    result = calibrate(case, tmp_path / "cal", settings)
    assert result.generations == 2
    names = {p.name for p in (tmp_path / "cal").iterdir()}
    assert {"posterior.parquet", "ppc.csv", "ppc_tables.png"} <= names and "ppc.png" not in names
    from experiments.columns import check_dictionary

    for table in ("posterior.parquet", "summary.csv", "generations.csv", "ppc.csv"):
        assert check_dictionary(tmp_path / "cal" / table) == []  # every column of every calibration table defined
    import pandas as pd

    ppc = pd.read_csv(tmp_path / "cal" / "ppc.csv")
    assert set(ppc.source) == {"survey", "attendance", "roster"}


def test_recovery_reports_coverage_ranks_and_contraction_and_resumes(tmp_path, capsys):
    folder = tmp_path / "obs"
    assert main(["observe", "--set", "seats=8", "--steps", "12", "--seed", "9", "--waves", "6",
                 "--out", str(folder)]) == 0
    argv = ["recovery", str(folder / "case.toml"), "--truths", "2", "--designs", "roster,roster+survey",
            "--params", "leadership,individual_turnover", "--population", "20", "--generations", "2",
            "--out", str(tmp_path / "rec")]
    assert main(argv) == 0
    rec = tmp_path / "rec"
    for name in ("recovery.md", "recovery.csv", "recovery_table.csv", "recovery.png", "sbc_ranks.png",
                 "truth_vs_posterior.png"):
        assert (rec / name).exists(), name
    from experiments.columns import check_dictionary

    assert check_dictionary(rec / "recovery.csv") == [] and check_dictionary(rec / "recovery_table.csv") == []
    results = sorted((rec / "results").glob("*.json"))
    assert len(results) == 4
    doc = json.loads(results[0].read_text())
    row = doc["parameters"]["leadership"]
    assert 0 <= row["rank"] <= 99 and row["contraction"] > 0 and isinstance(row["covered90"], bool)
    assert row["q05"] <= row["median"] <= row["q95"]
    text = (rec / "recovery.md").read_text()
    assert "| roster | leadership | 2 |" in text and "What each design identifies" in text
    before = {p.name: p.read_bytes() for p in results}
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0  # nothing left to run: the same results, the report rebuilt
    assert {p.name: p.read_bytes() for p in sorted((rec / "results").glob("*.json"))} == before
    assert "already done" in capsys.readouterr().err
    assert main(argv) == 2  # the folder holds a recovery: --resume or another folder
