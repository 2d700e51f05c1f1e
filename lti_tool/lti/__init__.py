"""The LTI 1.3 edge. The only package that imports pylti1p3; it hands out our own ``LaunchContext``."""
