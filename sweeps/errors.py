"""Errors for bad user input; the command line turns any ``InputError`` into exit status 2."""


class InputError(ValueError):
    """Bad input from the user (a spec, a file, an argument), with a message that says what and where."""


class SpecError(InputError):
    """A malformed sweep spec or config: names the field and the problem."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")
