"""Models: teachers (saved and loaded with their scores), students (built from a config), size and latency."""

from autodistiller.models._backbone import (
    DEFAULT_BACKBONE,
    model_identity,
    quiet_transformers,
    resolve_model_path,
)
from autodistiller.models._inputs import model_inputs
from autodistiller.models._latency import count_parameters, measure_latencies_ms, measure_latency_ms
from autodistiller.models._student import (
    StudentInfo,
    build_student,
    freeze_word_embeddings,
    select_teacher_layers,
    student_dims,
)
from autodistiller.models._teacher import (
    TEACHER_META,
    TEACHER_TRAINING,
    Teacher,
    TeacherIntegrityError,
    load_classifier,
    load_teacher,
    name_labels,
    save_teacher,
    teacher_key,
    weights_sha256,
)

__all__ = [
    "DEFAULT_BACKBONE",
    "TEACHER_META",
    "TEACHER_TRAINING",
    "StudentInfo",
    "Teacher",
    "TeacherIntegrityError",
    "build_student",
    "count_parameters",
    "freeze_word_embeddings",
    "load_classifier",
    "load_teacher",
    "measure_latencies_ms",
    "measure_latency_ms",
    "model_identity",
    "model_inputs",
    "name_labels",
    "quiet_transformers",
    "resolve_model_path",
    "save_teacher",
    "select_teacher_layers",
    "student_dims",
    "teacher_key",
    "weights_sha256",
]
