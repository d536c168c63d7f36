"""The assessment's scoring: the rubric as data, annual results, evidence from records.

Pure: no Flask, no database, no network. Inputs and outputs are frozen dataclasses."""

from scoring.engine import (
    ActivitySummary,
    Assessment,
    CollegeResult,
    InputError,
    MentorInput,
    MentorResult,
    activity_summary,
    evaluate,
)
from scoring.evidence import (
    Calendar,
    DateRange,
    Encoding,
    ItemEvidence,
    MentorEvidence,
    RecordFact,
    RecordKind,
    RequirementFigure,
    Semester,
    evidence_figures,
)
from scoring.rubric import Rubric, RubricError, load_rubric

__all__ = [
    "ActivitySummary",
    "Assessment",
    "Calendar",
    "CollegeResult",
    "DateRange",
    "Encoding",
    "InputError",
    "ItemEvidence",
    "MentorEvidence",
    "MentorInput",
    "MentorResult",
    "RecordFact",
    "RecordKind",
    "RequirementFigure",
    "Rubric",
    "RubricError",
    "Semester",
    "activity_summary",
    "evaluate",
    "evidence_figures",
    "load_rubric",
]
