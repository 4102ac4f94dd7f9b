import pytest
import torch
from transformers import AutoModelForSequenceClassification

from autodistiller import ConfigError, StudentConfig
from autodistiller.models import build_student, count_parameters, select_teacher_layers


@pytest.mark.parametrize(("init", "expected"), [
    ("first", [0, 1]),
    ("last", [4, 5]),
    ("uniform", [2, 5]),  # PKD skip: student layers 1, 2 <- teacher layers 3, 6 (1-based)
])
def test_layer_selection_for_two_of_six(init, expected):
    assert select_teacher_layers(6, 2, init) == expected


def test_uniform_selection_of_three_of_twelve_and_errors():
    assert select_teacher_layers(12, 3, "uniform") == [3, 7, 11]
    assert select_teacher_layers(4, 4, "uniform") == [0, 1, 2, 3]
    with pytest.raises(ConfigError, match="exceeds the 4 layers"):
        select_teacher_layers(4, 5, "first")


@pytest.fixture(scope="module")
def source(tiny_dir):
    from autodistiller.testing import tiny_bert

    return AutoModelForSequenceClassification.from_pretrained(tiny_bert(tiny_dir / "student-src", layers=4))


@pytest.mark.parametrize("init", ["first", "uniform", "last"])
def test_student_copies_the_chosen_layers_embeddings_and_head(source, init):
    student, info = build_student(StudentConfig(layers=2, init=init), source)
    chosen = select_teacher_layers(4, 2, init)
    assert info.initialised_from == tuple(chosen) and student.config.num_hidden_layers == 2
    for s, t in enumerate(chosen):
        a = student.bert.encoder.layer[s].attention.self.query.weight
        b = source.bert.encoder.layer[t].attention.self.query.weight
        assert torch.equal(a, b)
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, source.bert.embeddings.word_embeddings.weight)
    assert torch.equal(student.classifier.weight, source.classifier.weight)
    # a copy, not shared storage: training the student must not change the teacher
    assert student.classifier.weight.data_ptr() != source.classifier.weight.data_ptr()
    assert count_parameters(student) < count_parameters(source)


def test_narrow_student_is_random_and_smaller(source):
    student, info = build_student(StudentConfig(layers=2, hidden_size=16), source)
    assert student.config.hidden_size == 16 and info.initialised_from == ()
    assert student.config.hidden_size % student.config.num_attention_heads == 0
    assert count_parameters(student) < count_parameters(build_student(StudentConfig(layers=2), source)[0])
    out = student(input_ids=torch.tensor([[2, 5, 6, 3]])).logits
    assert out.shape == (1, 2)
    with pytest.raises(ConfigError, match="wider than the source"):
        build_student(StudentConfig(layers=2, hidden_size=64), source)
