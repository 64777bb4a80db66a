"""``lanner rules validate|list``."""

from __future__ import annotations
