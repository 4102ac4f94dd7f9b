"""Stage 1: data augmentation (placeholder while the modules land)."""
