import os

# Search multiplies small matrices (knowledge_base.semantic): BLAS threads only add hand-offs
# (7 ms instead of 0.5 ms per matmul measured on 2 busy cores). It must be set before anything
# imports numpy, hence here, where every knowledge-base module starts.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
