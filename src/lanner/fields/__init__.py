"""The field registry (``proc.name`` -> typed extractor) and the field classes that fill it;
``lanner fields`` lists it.
"""
