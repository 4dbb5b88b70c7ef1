"""From a function's signature to the JSON schema of its arguments, and back to a call.

After pydantic-ai's `_function_schema.py`: the parameters of a function become the fields
of a pydantic model built on the fly. The model's JSON schema, stripped of `title`s, is
what the LLM sees; validating the LLM's arguments against the model gives the values to
call the function with. A parameter annotated with the context type (`ToolContext` for
`Tool`) is left out of the schema and receives the call's context instead.
"""

from __future__ import annotations

import functools
import inspect
import json
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from alltoken_agent.errors import UserError

if TYPE_CHECKING:  # imported where a function is described: the built-in tools need none
    import pydantic

_MAX_REPORTED_ERRORS: Final = 10
"""Validation errors listed in one outcome; the rest are counted."""

_SCHEMA_DATA_KEYS: Final = frozenset({"default", "const", "enum", "examples", "example"})
"""JSON-schema keys whose values are data, not schemas: a `title` inside them stays."""

_SCHEMA_NAME_KEYS: Final = frozenset({"properties", "$defs", "definitions", "patternProperties"})
"""JSON-schema keys whose values map names (which may be `title`) to schemas."""

ContextT = TypeVar("ContextT", contravariant=True)


class Binder(Protocol[ContextT]):
    """Turns a parsed arguments dict and the call's context into `(args, kwargs)`.

    Raises `InvalidArgumentsError` when the arguments do not fit.
    """

    def __call__(
        self, arguments: dict[str, Any], context: ContextT
    ) -> tuple[tuple[Any, ...], dict[str, Any]]: ...


class InvalidArgumentsError(Exception):
    """Arguments parsed but do not fit the tool; the message lists the problems."""


def describe_function(
    function: Callable[..., Any],
    name: str,
    docs: Mapping[str, str],
    namespace: Mapping[str, Any],
    context_type: type[ContextT],
) -> tuple[dict[str, Any], Binder[ContextT], bool]:
    """Build the parameters schema and the argument binder of a function.

    Args:
        function: The callable to describe; every parameter must have a name.
        name: The tool name, for messages and the pydantic model's name.
        docs: Parameter descriptions from the docstring, by parameter name.
        namespace: Extra names for resolving postponed annotations.
        context_type: Parameters annotated with it (or an optional or `Annotated` form
            of it) are left out of the schema and receive the context.

    Returns:
        The JSON schema of the arguments object, the binder, and whether a parameter
        receives the context (else the binder never reads it).

    Raises:
        UserError: The function cannot be described.
    """
    if inspect.isclass(function):
        raise UserError(f"cannot make a tool of the class {function.__name__}; pass a function")
    import pydantic

    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as exc:
        raise UserError(f"cannot read the signature of {name}: {exc}") from None
    hints = _type_hints(function, name, namespace, context_type)
    takes_context = False
    plain_params: list[tuple[inspect.Parameter, str]] = []
    for index, param in enumerate(signature.parameters.values()):
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            stars = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise UserError(
                f"tool {name} takes {stars}{param.name}, which cannot be described to a "
                "model; give every argument a name and a type"
            )
        annotation = hints.get(param.name, Any)
        if _is_context(annotation, context_type):
            takes_context = True
            continue  # left out of the schema; bind() hands it the context
        # Fields get neutral names and the parameter name as alias, so parameters called
        # `json`, `schema` or `_private` do not clash with pydantic's BaseModel.
        plain_params.append((param, f"p{index}"))
    # Building the model and its schema is most of the work (~300 µs a parameter list):
    # an agent made per request from the same functions reuses them.
    key: Any = (name, *(_described_as(p, field, hints, docs) for p, field in plain_params))
    try:
        described = _MODELS.get(key)
    except TypeError:  # an unhashable annotation or default: described every time
        key = described = None
    if described is None:
        fields: dict[str, Any] = {
            field: (annotation, _field(param, annotation, docs.get(param.name)))
            for param, field in plain_params
            for annotation in (hints.get(param.name, Any),)
        }
        try:
            model = pydantic.create_model(
                f"{name}_arguments",
                __config__=pydantic.ConfigDict(coerce_numbers_to_str=True),
                **fields,
            )
            schema = model.model_json_schema()
        except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError) as exc:
            reason = str(exc).split("\n\n")[0]  # pydantic appends paragraphs of generic advice
            raise UserError(f"cannot build the schema of tool {name}: {reason}") from None
        described = model, json.dumps(_parameters_schema(schema))
        if key is not None:
            with _MODELS_LOCK:  # tools may be described on several threads at once
                if len(_MODELS) >= _MAX_MODELS:
                    del _MODELS[next(iter(_MODELS))]  # the oldest
                _MODELS[key] = described
    model, schema_text = described
    parameters: dict[str, Any] = json.loads(schema_text)  # each tool's own copy to edit
    # How each parameter is passed, worked out once here rather than on every call:
    # (name, its model field or None for the context), positional-only ones first.
    fields_of = {p.name: field for p, field in plain_params}
    layout = [
        (param.name, fields_of.get(param.name), param.kind is param.POSITIONAL_ONLY)
        for param in signature.parameters.values()
    ]
    positional = [(name, field) for name, field, by_position in layout if by_position]
    keyword = [(name, field) for name, field, by_position in layout if not by_position]
    # model_validate's own checks and keyword handling, skipped: the same validator.
    validate = model.__pydantic_validator__.validate_python

    if not positional:  # the usual tool: everything by keyword, no tuple to build per call
        exact = _exact_types(model, keyword, hints)

        def bind_keywords(
            arguments: dict[str, Any], context: ContextT
        ) -> tuple[tuple[Any, ...], dict[str, Any]]:
            if exact is not None:
                # Each value already of its parameter's plain type is what validation
                # would give back (the same object): no model instance is built for it.
                passed: dict[str, Any] = {}
                for name, kind in exact:
                    if kind is None:
                        passed[name] = context
                        continue
                    value = arguments.get(name)
                    if type(value) is not kind:
                        break  # missing, or anything to convert or refuse: validation decides
                    passed[name] = value
                else:
                    return (), passed
            try:
                # A model instance keeps its fields' values in its __dict__, by field name.
                values = validate(arguments).__dict__
            except pydantic.ValidationError as exc:
                raise InvalidArgumentsError(_format_validation_error(exc)) from None
            return (), {
                name: context if field is None else values[field] for name, field in keyword
            }

        return parameters, bind_keywords, takes_context

    def bind(
        arguments: dict[str, Any], context: ContextT
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        try:
            validated = validate(arguments)
        except pydantic.ValidationError as exc:
            raise InvalidArgumentsError(_format_validation_error(exc)) from None
        args = tuple(
            context if field is None else getattr(validated, field) for _, field in positional
        )
        kwargs = {
            name: context if field is None else getattr(validated, field) for name, field in keyword
        }
        return args, kwargs

    return parameters, bind, takes_context


_MAX_MODELS: Final = 256
"""Argument models kept for reuse (the oldest goes first)."""

_MODELS: dict[Any, tuple[type[pydantic.BaseModel], str]] = {}
"""Argument models and their parameters schema (JSON text), by what they were built from."""

_MODELS_LOCK: Final = threading.Lock()


def _described_as(
    param: inspect.Parameter, field: str, hints: Mapping[str, Any], docs: Mapping[str, str]
) -> tuple[Any, ...]:
    """What one parameter's field (named ``field``) is built from, as a key for ``_MODELS``.

    The annotation is there with its ``repr`` (``int | str`` equals ``str | int`` but
    lists its types in another order), the default with its type (``1 == True``).
    """
    annotation = hints.get(param.name, Any)
    default = param.default
    return (
        param.name,
        field,
        annotation,
        repr(annotation),
        type(default),
        default,
        docs.get(param.name),
    )


_EXACT_TYPES: Final[tuple[type, ...]] = (str, int, float, bool)
"""Annotations whose values pass validation unchanged when they already have that exact
type (not a subclass): pydantic hands back the object it was given."""


def _exact_types(
    model: type[pydantic.BaseModel], keyword: list[tuple[str, str | None]], hints: dict[str, Any]
) -> list[tuple[str, type | None]] | None:
    """Each keyword parameter's plain type (None: the context), or None if any has another.

    Another: any other annotation, or a field with constraints or validators attached.
    """
    exact: list[tuple[str, type | None]] = []
    for name, field in keyword:
        if field is None:
            exact.append((name, None))
            continue
        kind = hints.get(name)
        info = model.model_fields[field]
        if not any(kind is t for t in _EXACT_TYPES) or info.annotation != kind or info.metadata:
            return None
        exact.append((name, kind))
    return exact


def unwrap_partial(function: Callable[..., Any]) -> Callable[..., Any]:
    """The function inside any layers of `functools.partial`."""
    while isinstance(function, functools.partial):
        function = function.func
    return function


def caller_namespace() -> dict[str, Any]:
    """The locals of the frame that applied `@tool`, for `describe_function`'s namespace."""
    # Two up from here (this helper, then `tool`, `decorate` or `as_tool`). Its locals
    # resolve postponed annotations of types defined inside a function, as pydantic's
    # `validate_call` does.
    return dict(sys._getframe(2).f_locals)


def _type_hints(
    function: Callable[..., Any],
    name: str,
    namespace: Mapping[str, Any],
    context_type: type[Any],
) -> dict[str, Any]:
    target = unwrap_partial(function)
    if not (inspect.isfunction(target) or inspect.ismethod(target)):
        target = getattr(target, "__call__", target)  # noqa: B004 - callable objects
    localns = dict(namespace)
    try:
        return typing.get_type_hints(target, localns=localns, include_extras=True)
    except NameError:
        # The context type imported only under TYPE_CHECKING is the common case.
        localns.setdefault(context_type.__name__, context_type)
    try:
        return typing.get_type_hints(target, localns=localns, include_extras=True)
    except Exception as exc:
        raise UserError(
            f"cannot resolve the type hints of tool {name}: {exc}; import the types it "
            "uses at module level (not only under TYPE_CHECKING)"
        ) from None


def _is_context(annotation: Any, context_type: type[Any]) -> bool:
    """Whether a parameter asks for the context: the type itself, optional or `Annotated`."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return len(members) == 1 and members[0] is context_type
    return annotation is context_type


def _field(param: inspect.Parameter, annotation: Any, doc: str | None) -> Any:
    options: dict[str, Any] = {"alias": param.name}
    if param.default is not param.empty:
        options["default"] = param.default
    if doc and not _has_description(annotation):
        options["description"] = doc
    import pydantic
    from pydantic_core import PydanticUndefined

    default = options.pop("default", PydanticUndefined)
    return pydantic.Field(default, **options)


def _has_description(annotation: Any) -> bool:
    if typing.get_origin(annotation) is not typing.Annotated:
        return False
    from pydantic.fields import FieldInfo

    return any(
        isinstance(meta, FieldInfo) and meta.description for meta in typing.get_args(annotation)
    )


def _parameters_schema(schema: dict[str, Any]) -> dict[str, Any]:
    compact = _drop_titles(schema)
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": compact.get("properties", {}),
        "required": compact.get("required", []),
    }
    for key, value in compact.items():
        if key not in parameters:
            parameters[key] = value
    return parameters


def _drop_titles(node: Any) -> Any:
    if isinstance(node, list):
        return [_drop_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _SCHEMA_DATA_KEYS:
            out[key] = value
        elif key in _SCHEMA_NAME_KEYS and isinstance(value, dict):
            out[key] = {name: _drop_titles(sub) for name, sub in value.items()}
        else:
            out[key] = _drop_titles(value)
    return out


def _format_validation_error(exc: pydantic.ValidationError) -> str:
    problems = []
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    for error in errors[:_MAX_REPORTED_ERRORS]:
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}" if where else error["msg"])
    if len(errors) > _MAX_REPORTED_ERRORS:
        problems.append(f"and {len(errors) - _MAX_REPORTED_ERRORS} more errors")
    return "; ".join(problems)
