"""`vox simulate`: realistic customer traffic from a population whose hidden traits are known."""
