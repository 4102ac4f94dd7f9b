from pathlib import Path

from autodistiller.config import section_fields
from autodistiller.meta_dataset import meta_dataset_schema

DOC = (Path(__file__).parents[2] / "meta_dataset" / "README.md").read_text()


def test_every_non_pipeline_column_is_documented():
    pipeline = {spec.key for spec in section_fields()}  # documented as a group: `autodistiller options` lists them
    for name in meta_dataset_schema().names:
        if name not in pipeline:
            assert f"`{name}`" in DOC, f"column {name} is missing from meta_dataset/README.md"
    for section in {key.split(".")[0] for key in pipeline}:
        assert f"`{section}.*`" in DOC, f"pipeline section {section} is missing from meta_dataset/README.md"
