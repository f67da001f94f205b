"""Errors the sweep layer raises for bad user input."""


class SpecError(ValueError):
    """A malformed sweep spec or config: names the field and the problem."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")
