"""Teachers (fine-tuned once, cached) and students (built from a config)."""

from autodistiller.models._backbone import DEFAULT_BACKBONE, model_identity, resolve_model_path
from autodistiller.models._inputs import model_inputs
from autodistiller.models._latency import count_parameters, measure_latencies_ms, measure_latency_ms
from autodistiller.models._student import StudentInfo, build_student, select_teacher_layers
from autodistiller.models._teacher import (
    TEACHER_TRAINING,
    Teacher,
    fine_tune_teacher,
    load_classifier,
    load_teacher,
    save_teacher,
    teacher_key,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "TEACHER_TRAINING",
    "StudentInfo",
    "Teacher",
    "build_student",
    "count_parameters",
    "fine_tune_teacher",
    "load_classifier",
    "load_teacher",
    "measure_latencies_ms",
    "measure_latency_ms",
    "model_identity",
    "model_inputs",
    "resolve_model_path",
    "save_teacher",
    "select_teacher_layers",
    "teacher_key",
]
