"""The evaluation protocol's steps, below the suites: scoring, the zero-shot classifier, the
linear probe (search C on val, refit on train + val) and the few-shot probe (refit on the
k-shot train set only). Suites and ``bench train``'s evaluation call these; nothing here
knows about suites, result files or the run context."""
