"""Annual results: points per part, satisfaction, bonus, totals, ranks per college and the
outstanding mentors (优秀导师). Pure functions over frozen dataclasses; exact arithmetic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from scoring.numbers import fmt, has_decimals, round_to
from scoring.rubric import Rubric

COMPLETE = "complete"
INCOMPLETE = "incomplete"
NO_RATINGS = "no_ratings"
TIE_AT_CUTOFF = "tie_at_cutoff"
ZERO = Decimal(0)


@dataclass(frozen=True)
class MentorInput:
    """What the year gave one mentor: scores so far, bonus items, ratings per activity."""

    id: str
    college: str
    item_scores: Mapping[str, Decimal] = field(default_factory=dict)
    bonus: frozenset[str] = frozenset()
    activity_ratings: tuple[tuple[int, ...], ...] = ()


@dataclass(frozen=True)
class MentorResult:
    id: str
    college: str
    status: str  # complete | incomplete
    college_points: Decimal
    academy_points: Decimal
    satisfaction: Decimal | None  # percent, rounded; None without ratings
    satisfaction_points: Decimal
    bonus_points: Decimal
    total: Decimal | None  # None when incomplete
    rank: int | None  # within the college; None when incomplete
    outstanding: bool
    flags: tuple[str, ...]
    missing: tuple[str, ...] = ()  # scored items without a score yet
    # some rated activity has fewer ratings than the anonymity threshold: the mentor is not
    # shown ``satisfaction`` (it, less the activities they are shown, would give that one away)
    satisfaction_hidden: bool = False


@dataclass(frozen=True)
class CollegeResult:
    college: str
    ranked: int
    quota: int
    outstanding: tuple[str, ...]  # mentor ids, by rank then input order
    flags: tuple[str, ...]


@dataclass(frozen=True)
class Assessment:
    mentors: tuple[MentorResult, ...]
    colleges: tuple[CollegeResult, ...]

    def mentor(self, mentor_id: str) -> MentorResult:
        return next(m for m in self.mentors if m.id == mentor_id)

    def college(self, name: str) -> CollegeResult:
        return next(c for c in self.colleges if c.college == name)


@dataclass(frozen=True)
class ActivitySummary:
    """What a mentor may see of one activity's ratings (anonymity threshold met)."""

    ratings: int
    positive: int
    satisfaction: Decimal  # percent, rounded like the annual figure
    by_level: tuple[tuple[int, int], ...]  # (level, count), highest level first


class InputError(ValueError):
    """Invalid input; ``problems`` holds one line per problem naming mentor and item."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def mentor_label(mentor_id: object) -> str:
    return f"导师 {mentor_id}"


# --- validation --------------------------------------------------------------------------


def check_mentors(mentors: Sequence[MentorInput], rubric: Rubric) -> list[str]:
    """Every problem of the inputs, one line each, naming the mentor and the item."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for position, mentor in enumerate(mentors, start=1):
        if mentor.id in seen:
            problems.append(
                f"{mentor_label(mentor.id)}：导师编号重复"
                f"（第 {seen[mentor.id]} 位与第 {position} 位） (duplicate mentor id)"
            )
        else:
            seen[mentor.id] = position
        problems += check_mentor(mentor, rubric)
    return problems


def check_mentor(mentor: MentorInput, rubric: Rubric) -> list[str]:
    who = mentor_label(mentor.id)
    problems = []
    if not mentor.college:
        problems.append(f"{who}：学院不能为空 (college is empty)")
    for item_id, score in mentor.item_scores.items():
        problem = _score_problem(item_id, score, rubric)
        if problem:
            problems.append(f"{who} 项 {item_id}：{problem}")
    bonus_ids = {item.id for item in rubric.bonus_items}
    for item_id in sorted(mentor.bonus):
        if item_id not in bonus_ids:
            problems.append(
                f"{who} 项 {item_id}：不是加分项（加分项为 {', '.join(sorted(bonus_ids))}）"
                " (not a bonus item)"
            )
    levels = rubric.satisfaction.level_set
    sat_item = rubric.satisfaction.item
    for a, ratings in enumerate(mentor.activity_ratings):
        if levels.issuperset(ratings):
            continue
        for r, level in enumerate(ratings):
            if level not in levels:
                problems.append(
                    f"{who} 项 {sat_item}：activity_ratings[{a}][{r}] 评价等级 {level} "
                    f"不在 {min(levels)}–{max(levels)} 之间 (rating level out of range)"
                )
    return problems


def _score_problem(item_id: str, score: Decimal, rubric: Rubric) -> str | None:
    item = rubric.item_by_id.get(item_id)
    if item is None:
        return "未知考核项 (unknown item)"
    role = rubric.role_of(item_id)
    if role == "satisfaction":
        return "满意度由学生评价计算，不能直接给分 (computed from ratings)"
    if role == "bonus":
        return "加分项请列在 bonus 中，不要给分 (bonus items go in bonus)"
    if isinstance(score, bool) or not isinstance(score, int | Decimal):
        return f"分数 {score!r} 不是数字 (not a number)"
    if not has_decimals(Decimal(score), rubric.score_decimals):
        return f"分数 {score} 超过 {rubric.score_decimals} 位小数 (too many decimals)"
    if not ZERO <= score <= item.max:
        return f"分数 {fmt(score)} 超出 0–{fmt(item.max)} (score out of range)"
    return None


# --- satisfaction ------------------------------------------------------------------------


def activity_counts(ratings: Sequence[int], positive: Iterable[int]) -> tuple[int, int]:
    """(number of ratings, number at a positive level) of one activity."""
    return len(ratings), sum(ratings.count(level) for level in positive)


def annual_satisfaction(
    activity_ratings: Iterable[Sequence[int]], rubric: Rubric
) -> Decimal | None:
    """Mean of the activities' satisfaction (% positive), for activities with ratings,
    rounded as the rubric says; None when no activity has a rating."""
    positive = tuple(rubric.satisfaction.positive_set)
    by_size: dict[int, int] = {}  # ratings per activity → positives summed over activities
    activities = 0
    for ratings in activity_ratings:
        n = len(ratings)
        if n:
            by_size[n] = by_size.get(n, 0) + sum(ratings.count(level) for level in positive)
            activities += 1
    if not activities:
        return None
    mean = sum((Fraction(pos, n) for n, pos in by_size.items()), Fraction(0)) / activities
    sat = rubric.satisfaction
    return round_to(mean * 100, sat.decimals, sat.rounding)


def band_points(satisfaction: Decimal | None, rubric: Rubric) -> Decimal:
    """The points of the band the (rounded) satisfaction falls in."""
    sat = rubric.satisfaction
    if satisfaction is None:
        return sat.no_ratings_points
    for band in sat.bands:
        if band.min <= satisfaction <= band.max:
            return band.points
    raise ValueError(f"satisfaction {satisfaction} outside every band")


def activity_summary(ratings: Sequence[int], rubric: Rubric) -> ActivitySummary | None:
    """The aggregate a mentor may see for one activity; None below the anonymity threshold."""
    sat = rubric.satisfaction
    if len(ratings) < sat.anonymity_threshold:
        return None
    n, positive = activity_counts(ratings, sat.positive_set)
    by_level = tuple(
        (level.level, ratings.count(level.level))
        for level in sorted(sat.levels, key=lambda lv: -lv.level)
    )
    percent = round_to(Fraction(positive * 100, n), sat.decimals, sat.rounding)
    return ActivitySummary(n, positive, percent, by_level)


# --- results -----------------------------------------------------------------------------


def quota(ranked: int, rubric: Rubric) -> int:
    """max(minimum, round(n × share)) for n ≥ 1 ranked mentors; 0 when none."""
    if ranked == 0:
        return 0
    rule = rubric.outstanding
    share = round_to(Fraction(rule.share) * ranked, 0, rule.rounding)
    return min(ranked, max(rule.minimum, int(share)))


def score_mentor(mentor: MentorInput, rubric: Rubric) -> MentorResult:
    """One mentor's points and total, before ranking (rank None, outstanding False)."""
    college = academy = ZERO
    missing = []
    scores = mentor.item_scores
    for item in rubric.scored_items:
        score = scores.get(item.id)
        if score is None:
            missing.append(item.id)
        elif rubric.role_of(item.id) == "college":
            college += score
        else:
            academy += score
    satisfaction = annual_satisfaction(mentor.activity_ratings, rubric)
    satisfaction_points = band_points(satisfaction, rubric)
    bonus_ids = {item.id for item in rubric.bonus_items}
    bonus_points = rubric.bonus.points if mentor.bonus & bonus_ids else ZERO
    complete = not missing
    total = college + academy + satisfaction_points + bonus_points if complete else None
    return MentorResult(
        id=mentor.id,
        college=mentor.college,
        status=COMPLETE if complete else INCOMPLETE,
        college_points=college,
        academy_points=academy,
        satisfaction=satisfaction,
        satisfaction_points=satisfaction_points,
        bonus_points=bonus_points,
        total=total,
        rank=None,
        outstanding=False,
        flags=(NO_RATINGS,) if satisfaction is None else (),
        missing=tuple(missing),
        satisfaction_hidden=satisfaction_hidden(mentor.activity_ratings, rubric),
    )


def satisfaction_hidden(activity_ratings: Sequence[Sequence[int]], rubric: Rubric) -> bool:
    """True when the annual satisfaction must not be shown to the mentor: one of the rated
    activities it averages has fewer ratings than the anonymity threshold, and the mentor
    sees the others (每项满 3 人的活动), so subtracting would reveal it."""
    threshold = rubric.satisfaction.anonymity_threshold
    return any(0 < len(ratings) < threshold for ratings in activity_ratings)


def evaluate(mentors: Iterable[MentorInput], rubric: Rubric) -> Assessment:
    """Results for every mentor (input order) and every college (order of first mention).

    Raises InputError listing every problem when an input is invalid.
    """
    mentors = tuple(mentors)
    problems = check_mentors(mentors, rubric)
    if problems:
        raise InputError(problems)
    results = {m.id: score_mentor(m, rubric) for m in mentors}
    by_college: dict[str, list[MentorResult]] = {}
    for result in results.values():
        by_college.setdefault(result.college, []).append(result)
    colleges = []
    for name, members in by_college.items():
        college, ranked = rank_college(name, members, rubric)
        colleges.append(college)
        results.update(ranked)
    return Assessment(tuple(results[m.id] for m in mentors), tuple(colleges))


def rank_college(
    name: str, members: Sequence[MentorResult], rubric: Rubric
) -> tuple[CollegeResult, dict[str, MentorResult]]:
    """Competition ranks (1, 2, 2, 4) by total among complete results, and the outstanding
    list: the quota, plus everyone tied with the last total inside it (flagged)."""
    ordered = sorted(
        ((m.total, m) for m in members if m.total is not None), key=lambda pair: -pair[0]
    )  # stable: equal totals keep input order
    seats = quota(len(ordered), rubric)
    cutoff = ordered[seats - 1][0] if seats else None
    chosen = [m for total, m in ordered if cutoff is not None and total >= cutoff]
    tie = len(chosen) > seats
    updated: dict[str, MentorResult] = {}
    rank = 0
    previous: Decimal | None = None
    for position, (total, mentor) in enumerate(ordered, start=1):
        if total != previous:
            rank, previous = position, total
        flags = mentor.flags
        if tie and total == cutoff:
            flags = (*flags, TIE_AT_CUTOFF)
        updated[mentor.id] = replace(
            mentor, rank=rank, outstanding=cutoff is not None and total >= cutoff, flags=flags
        )
    college = CollegeResult(
        college=name,
        ranked=len(ordered),
        quota=seats,
        outstanding=tuple(m.id for m in chosen),
        flags=(TIE_AT_CUTOFF,) if tie else (),
    )
    return college, updated
