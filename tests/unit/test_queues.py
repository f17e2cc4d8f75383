"""Routing policy and per-queue overflow rules from the operators file: defaults, the shipped
file, and every mistake located at its file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from acd.agents import AgentsError, join_skills, load_agents, split_skills
from acd.decision import Policy, Relaxation
from acd.queues import QueueRules, Routing, load_routing

SHIPPED = Path(__file__).parent.parent.parent / "dialplans" / "agents.yaml"
AGENTS = "agents:\n  op01: {name: A, skills: {general: 3}, languages: [vi]}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.yaml"
    path.write_text(text + AGENTS, encoding="utf-8")
    return path


def test_the_shipped_file_has_rules_per_queue_and_the_agents_still_load() -> None:
    routing = load_routing(SHIPPED)
    assert routing.rules("outage").max_wait_s == 600
    assert routing.rules("outage").on_queue_full == "callback"
    assert routing.rules("billing") == routing.rules("default")
    assert routing.policy.steps[-1].any_skill
    assert len(load_agents(SHIPPED)) == 50


def test_without_sections_the_defaults_apply(tmp_path: Path) -> None:
    routing = load_routing(write(tmp_path, ""))
    assert routing == Routing()
    assert routing.rules("anything") == QueueRules()
    assert routing.policy == Policy()


def test_rules_and_steps_as_written(tmp_path: Path) -> None:
    routing = load_routing(write(tmp_path, """\
routing:
  min_proficiency: 4
  relax: [{after: 10, min_proficiency: 2}, {after: 20.5, any_skill: true}]
  sticky_wait: 0
queues:
  billing: {max_wait: 45, max_queue: 3, on_max_wait: announce, on_no_operator: callback}
"""))
    assert routing.policy == Policy(4, (Relaxation(10, 2), Relaxation(20.5, any_skill=True)), 0)
    assert routing.rules("billing") == QueueRules(45, 3, "announce", "announce", "callback")
    assert routing.rules("general") == QueueRules()  # no default queue: built-in defaults


@pytest.mark.parametrize(("text", "where", "says"), [
    ("routing: [1]\n", "1:10", "routing has"),
    ("routing: {min_proficiency: 7}\n", "1:28", "min_proficiency is 1-5"),
    ("routing: {sticky_wait: soon}\n", "1:24", "sticky_wait is seconds"),
    ("routing: {relax: {after: 3}}\n", "1:18", "relax is a list"),
    ("routing:\n  relax:\n    - {after: 30, min_proficiency: 2}\n    - {after: 20, any_skill: true}\n",
     "4:15", "later than the step before"),
    ("routing:\n  relax:\n    - {after: 30}\n", "3:7", "lowers min_proficiency or allows"),
    ("routing:\n  relax:\n    - {after: 30, any_skill: yes please}\n", "3:30", "true or false"),
    ("routing:\n  relax:\n    - {after: 30, min_proficency: 2}\n", "3:19", "unknown in a relax"),
    ("queues: [outage]\n", "1:9", "queues map a skill"),
    ("queues:\n  outage: 600\n", "2:11", "give max_wait"),
    ("queues:\n  outage: {max_wait: 0}\n", "2:22", "max_wait is seconds"),
    ("queues:\n  outage: {max_queue: 2.5}\n", "2:23", "whole number"),
    ("queues:\n  outage: {on_max_wait: hangup}\n", "2:25", "callback or announce"),
    ("queues:\n  outage: {max_wiat: 60}\n", "2:12", "unknown rule 'max_wiat'"),
])
def test_mistakes_are_located(tmp_path: Path, text: str, where: str, says: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(AgentsError) as caught:
        load_routing(path)
    assert f"{path}:{where}: " in str(caught.value)
    assert says in str(caught.value)


def test_every_mistake_is_reported_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path, "queues:\n  a: {max_wait: x}\n  b: {on_queue_full: y}\n")
    with pytest.raises(AgentsError) as caught:
        load_routing(path)
    lines = str(caught.value).splitlines()
    assert [line.split(":")[1] for line in lines] == ["2", "3"]


def test_hotline_agents_check_reports_every_mistake_and_fails(tmp_path: Path) -> None:
    import subprocess
    import sys

    def check(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "hotline.cli", "agents", "check", str(path)],
                              check=False, capture_output=True, text=True, timeout=60,
                              cwd=SHIPPED.parent.parent)

    good = check(SHIPPED)
    assert good.returncode == 0 and "50 operators" in good.stdout
    bad = check(write(tmp_path, "queues:\n  a: {max_wait: x}\n  b: {on_queue_full: y}\n"))
    assert bad.returncode == 2
    assert f"{tmp_path / 'agents.yaml'}:2:" in bad.stderr
    assert f"{tmp_path / 'agents.yaml'}:3:" in bad.stderr


def test_a_calls_skills_cross_the_dialplan_whole() -> None:
    """HOTLINE_SKILLS goes into UserEvent(AcdJoin,AcdSkills: ...), whose arguments Asterisk
    splits on commas: the joined skills hold none, and the ACD reads back every one."""
    carried = join_skills(("billing", "outage", "advice"))
    arguments = f"AcdJoin,AcdSkills: {carried},AcdLanguage: vi".split(",")
    assert arguments[1] == f"AcdSkills: {carried}"
    assert split_skills(arguments[1].split(": ", 1)[1]) == ("billing", "outage", "advice")
    # only skill names, each once, in order
    assert split_skills("  outage\tbilling outage Dial(x) ;x general_2 ") == (
        "outage", "billing", "general_2")
    assert split_skills("") == ()
