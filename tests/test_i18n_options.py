"""The run's selection options speak both languages (issue 18): --shard, -k and --tag
problems, with the same positions and examples (scftest/plan.py)."""

import pytest

from scftest import plan
from scftest.i18n import speaking
from scftest.report.coverage_report import parse_report
from scftest.errors import UsageError


def _message(call, *args):
    with pytest.raises((plan.PlanError, UsageError)) as caught:
        call(*args)
    return str(caught.value)


def test_a_shard_out_of_range_in_both_languages():
    assert _message(plan.parse_shard, "5/4") == '--shard "5/4": K must be between 1 and 4 (shards count from 1)'
    with speaking("zh"):
        assert _message(plan.parse_shard, "5/4") == '--shard "5/4"：K 必须在 1 到 4 之间（分片从 1 数起）'


def test_a_tag_expression_problem_names_the_same_column_in_both_languages():
    english = _message(plan.compile_tags, ["smoke and (network"])
    assert english.startswith("--tag 'smoke and (network': expected ')' to close the '(' at column 11, "
                              "found the end at column 19 — join tags")
    with speaking("zh"):
        chinese = _message(plan.compile_tags, ["smoke and (network"])
        quote = _message(plan.compile_keyword, 'a and "b')
        report = _message(parse_report, "pdf")
    assert chinese.startswith("--tag 'smoke and (network'：应有 ')' 来闭合第 11 列的 '('，但在第 19 列遇到 结尾")
    assert "用 and / or / not 连接标签" in chinese
    assert quote.startswith("-k 'a and \"b'：第 7 列的引号没有闭合")
    assert report.startswith("--cov-report 'pdf'：请给出 term")


def test_coverage_provisioning_says_what_it_does_in_both_languages(tmp_path):
    from scftest.render import coverage_install

    english = coverage_install("coverage==7.6.1", "3.10.13", tmp_path)
    assert english == f"scftest: installing coverage==7.6.1 for Python 3.10.13 into {tmp_path} (once: later runs reuse it)"
    with speaking("zh"):
        chinese = coverage_install("coverage==7.6.1", "3.10.13", tmp_path)
    assert chinese == f"scftest：正在为 Python 3.10.13 安装 coverage==7.6.1 到 {tmp_path}（只装一次：之后的运行会复用它）"
