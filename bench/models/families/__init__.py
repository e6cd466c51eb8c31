"""Model families: each module here registers one family with :mod:`bench.models.families.base`.

``openai`` (the nine), ``bench`` (``bench train`` checkpoints and plain state dicts),
``open_clip`` and ``hf``. A new family is one new module that calls
:func:`~bench.models.families.base.register` and is named in
:data:`bench.models.resolver.FAMILY_MODULES`.
"""
