"""Built-in xlt-harness plugins (installed as ``xlt_harness_plugins``), registered via entry points."""
