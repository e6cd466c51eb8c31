"""Task definition files: one ``<name>.yaml`` per task (shipped as ``bench.taskfiles``)."""
