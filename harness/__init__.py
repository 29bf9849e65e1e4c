"""xlt-harness: does English intermediate-task training help zero-shot cross-lingual transfer, across scale?"""

__version__ = "0.1.0"
