"""Sub-commands of `livehook` that live in modules of their own (registered in ``cli``)."""
