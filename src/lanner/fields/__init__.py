"""The field registry (``proc.name`` -> typed extractor) and the field classes that fill it;
``lanner fields`` lists it.
"""

from lanner.fields.catalog import default_registry

__all__ = ["default_registry"]
