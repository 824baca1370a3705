"""The course's finished models: the reference revisions' target metadata (migrations/env.py).

They are the course's data, not code of migtutor's: the models file of the finished course in
`lessons/models/` (the number after the last lesson), loaded from there, so the course defines
its models in one place. `Base` is that file's declarative base.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from migtutor.course import lesson_count, models_at


def _load() -> Any:
    path = models_at(lesson_count() + 1)
    spec = importlib.util.spec_from_file_location("migtutor_course_models", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


Base = _load().Base
