"""Pure rules: USCC check characters, working-day deadlines, the whitelist file and channel decisions."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from wx_backend.merchants import uscc, whitelist
from wx_backend.merchants.application import decide_channels, normalise_phone
from wx_backend.merchants.workdays import WorkCalendar, is_overdue, official_years, review_deadline

ROOT = Path(__file__).resolve().parents[2]
WL = whitelist.load(ROOT / "industry_whitelist.yaml")
VALID_USCC = ["9144030071526726XG", "91330100799655058B", "914403001922038216",
              "91350100M000100Y43", "91110000802100433B"]


@pytest.mark.parametrize("code", VALID_USCC)
def test_published_uscc_codes_pass(code):
    assert uscc.validate(code.lower()) == code


@pytest.mark.parametrize("code", VALID_USCC)
def test_every_wrong_check_character_is_refused(code):
    for ch in uscc.ALPHABET:
        if ch != code[-1]:
            assert not uscc.is_valid(code[:-1] + ch)


@pytest.mark.parametrize("code,why", [
    ("9144030071526726X", "18位"), ("9144030071526726XGG", "18位"),
    ("9I4403007152672XG0", "不允许"), ("91AB030071526726XG", "行政区划"),
    ("9144030071526727XG", "组织机构代码"), ("9144030071526726XH", "第18位"),
])
def test_bad_uscc_codes_name_the_problem(code, why):
    with pytest.raises(uscc.UsccError, match=why):
        uscc.validate(code)


def _utc(y, m, d, h=1):
    return dt.datetime(y, m, d, h, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("submitted,expected", [
    (_utc(2026, 11, 30), dt.date(2026, 12, 3)),        # Monday -> Thursday
    (_utc(2026, 12, 4), dt.date(2026, 12, 9)),         # Friday -> Wednesday (weekend skipped)
    (_utc(2026, 12, 5), dt.date(2026, 12, 9)),         # Saturday -> Wednesday
    (_utc(2026, 12, 3, 17), dt.date(2026, 12, 9)),     # Thu 17:00 UTC is Friday 01:00 in Beijing
])
def test_deadline_is_three_working_days_after_the_beijing_date(submitted, expected):
    assert review_deadline(submitted) == expected


def test_deadline_skips_configured_holidays():
    holidays = [dt.date(2026, 12, 7), dt.date(2026, 12, 8)]   # Monday and Tuesday after a Friday
    assert review_deadline(_utc(2026, 12, 4), holidays) == dt.date(2026, 12, 11)
    assert review_deadline(_utc(2026, 12, 4)) == dt.date(2026, 12, 9)


def test_deadline_counts_make_up_working_weekends():
    # 调休: Saturday 2026-12-05 declared a working day pulls Friday's deadline from Wednesday to Tuesday.
    assert review_deadline(_utc(2026, 12, 4), (), [dt.date(2026, 12, 5)]) == dt.date(2026, 12, 8)
    # A date in both calendars is a holiday.
    assert review_deadline(_utc(2026, 12, 4), [dt.date(2026, 12, 5)], [dt.date(2026, 12, 5)]) == \
        dt.date(2026, 12, 9)


def test_both_calendars_come_from_the_environment():
    from wx_backend.settings import Settings
    s = Settings.from_env({"HOLIDAYS": "2026-12-07", "MAKEUP_WORKDAYS": "2026-12-05,2026-12-06"})
    assert s.makeup_workdays == (dt.date(2026, 12, 5), dt.date(2026, 12, 6))
    # Friday: Sat and Sun work, Monday off -> the third working day is Tuesday.
    assert review_deadline(_utc(2026, 12, 4), s.holidays, s.makeup_workdays) == dt.date(2026, 12, 8)


def test_overdue_starts_the_day_after_the_deadline():
    deadline = dt.date(2026, 12, 3)
    assert not is_overdue(deadline, _utc(2026, 12, 3, 15))      # 23:00 Beijing, still the 3rd
    assert is_overdue(deadline, _utc(2026, 12, 3, 16))          # 00:00 Beijing on the 4th


def test_whitelist_has_the_issue_industries():
    assert [i.key for i in WL.industries] == ["government", "finance", "medical", "carriers",
                                              "education", "transport", "travel", "logistics"]
    assert len([s for s in WL.keys() if s.startswith("transport.")]) == 7
    assert WL.get("finance.bank").name == "银行" and WL.get("finance.bank").qualification


@pytest.mark.parametrize("industry", [i.key for i in WL.industries])
def test_channel_decision_for_each_industry(industry):
    asked = ("native_h5", "miniprogram", "api")
    for sub in next(i for i in WL.industries if i.key == industry).subs:
        decision = decide_channels(sub.key, asked, WL)
        assert decision.granted == asked and decision.refused == ()
        # The same merchant once its industry leaves the whitelist: native refused, ordinary H5 instead.
        out = decide_channels(sub.key, asked, WL.without(industry))
        assert out.granted == ("h5", "api")
        assert [r["channel"] for r in out.refused] == ["native_h5", "miniprogram"]
        assert all("白名单" in r["reason"] for r in out.refused)


def test_other_industry_asking_only_native_gets_ordinary_h5():
    out = decide_channels("other", ["miniprogram"], WL)
    assert out.granted == ("h5",) and out.refused[0]["channel"] == "miniprogram"
    assert decide_channels("other", ["h5", "api"], WL).refused == ()


@pytest.mark.parametrize("raw,expected", [
    ("13800138000", "13800138000"), ("+86 138 0013 8000", "13800138000"),
    ("010-12345678", "010-12345678"), ("075512345678", "0755-12345678"),
    ("12800138000", ""), ("1380013800", ""), ("abc", ""),
])
def test_phone_numbers(raw, expected):
    assert normalise_phone(raw) == expected


GOOD = (ROOT / "industry_whitelist.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("mutate,line,words", [
    (lambda t: t.replace("      bank:\n        name: 银行\n",
                         "      bank:\n        name: [银行\n"), None, "syntax"),
    (lambda t: t.replace("        qualification: 《金融许可证》（国家金融监督管理总局颁发）\n", ""),
     "      bank:\n", "missing field 'qualification'"),
    (lambda t: t.replace("  medical:\n", "  Medical:\n"), "  Medical:\n", "not a valid key"),
    (lambda t: t.replace("      insurance:\n", "      bank:\n"), "      bank:\n        name: 保险",
     "duplicate key 'bank'"),
    (lambda t: t.replace("        name: 酒店\n", "        name: 酒店\n        colour: red\n"),
     "        colour: red\n", "unknown field"),
])
def test_broken_whitelist_names_the_line(tmp_path, mutate, line, words):
    broken = mutate(GOOD)
    assert broken != GOOD
    path = tmp_path / "wl.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(whitelist.WhitelistError) as err:
        whitelist.load(path)
    message = str(err.value)
    assert words in message
    if line is not None:
        expected_line = broken[:broken.index(line)].count("\n") + 1
        assert f"{path}:{expected_line}:" in message
    else:
        assert f"{path}:" in message


def test_broken_whitelist_stops_the_app(tmp_path, settings, clock):
    from wx_backend import create_app
    path = tmp_path / "wl.yaml"
    path.write_text(GOOD.replace("  travel:\n", "  travel\n"), encoding="utf-8")
    with pytest.raises(whitelist.WhitelistError, match=str(path)):
        create_app(settings.replace(industry_whitelist_path=str(path)), clock=clock)


@pytest.mark.parametrize("submitted, official, plain", [
    # 国庆 2026: 1-7 October off, Saturday 10 October a make-up working day.
    (_utc(2026, 9, 30), dt.date(2026, 10, 10), dt.date(2026, 10, 5)),
    # 春节 2026: 15-23 February off; Saturday 14 February a make-up working day.
    (_utc(2026, 2, 13), dt.date(2026, 2, 25), dt.date(2026, 2, 18)),
    # 劳动节 2026: 1-5 May off (Friday to Tuesday).
    (_utc(2026, 4, 30), dt.date(2026, 5, 8), dt.date(2026, 5, 5)),
])
def test_official_holidays_and_make_up_days_come_from_chinesecalendar(submitted, official, plain):
    assert review_deadline(submitted) == official
    assert review_deadline(submitted, official=False) == plain


def test_the_installed_chinesecalendar_covers_2026():
    assert 2026 in official_years()


def test_overrides_apply_on_top_of_the_official_calendar():
    # An operator can close a day the State Council did not (a listed holiday wins) ...
    assert review_deadline(_utc(2026, 9, 30), [dt.date(2026, 10, 10)]) == dt.date(2026, 10, 12)
    # ... or open one (a listed make-up day): Sunday 11 October worked too.
    assert review_deadline(_utc(2026, 10, 8), (), [dt.date(2026, 10, 11)]) == dt.date(2026, 10, 11)


def test_an_uncovered_year_is_mon_fri_plus_the_environments_dates():
    first_uncovered = official_years().stop
    new_year = dt.date(first_uncovered, 1, 1)
    cal = WorkCalendar(holidays=frozenset({new_year}))
    assert cal.is_working_day(new_year) is False
    assert WorkCalendar().is_working_day(new_year) is (new_year.weekday() < 5)
    warnings = WorkCalendar().coverage_warnings(dt.date(first_uncovered - 1, 12, 20))
    assert len(warnings) == 1 and str(first_uncovered) in warnings[0]
    assert WorkCalendar().coverage_warnings(dt.date(first_uncovered - 1, 11, 30)) == []


def test_start_up_warns_when_todays_year_is_not_covered(tmp_path, caplog):
    import logging

    from wx_backend import create_app
    from wx_backend.clock import FrozenClock
    from wx_backend.settings import Settings

    settings = Settings(env="testing", database_url=f"sqlite:///{tmp_path / 't.db'}",
                        huey_sqlite_path=str(tmp_path / "h.db"), huey_immediate=True)
    uncovered = official_years().stop
    with caplog.at_level(logging.WARNING, logger="wx_backend.merchants"):
        create_app(settings, clock=FrozenClock(dt.datetime(uncovered, 3, 2, tzinfo=dt.timezone.utc)))
    assert [r for r in caplog.records if f"no official holidays for {uncovered}" in r.getMessage()]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="wx_backend.merchants"):
        create_app(settings, clock=FrozenClock(dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)))
    assert not [r for r in caplog.records if "no official holidays" in r.getMessage()]
