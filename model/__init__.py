"""An agent-based model of synergy in multi-stakeholder primary health care partnerships."""

from typing import TYPE_CHECKING

from model.outputs import OUTPUT_MEANINGS, OUTPUTS, SUMMARY_MEANINGS, SUMMARY_OUTPUTS
from model.parameters import DEFAULTS, PARAMETERS, STAKEHOLDER_TYPES, ParameterError, validate_parameters

if TYPE_CHECKING:  # pragma: no cover
    from model.model import PartnershipModel

__all__ = [
    "DEFAULTS",
    "OUTPUTS",
    "OUTPUT_MEANINGS",
    "PARAMETERS",
    "STAKEHOLDER_TYPES",
    "SUMMARY_MEANINGS",
    "SUMMARY_OUTPUTS",
    "ParameterError",
    "PartnershipModel",
    "validate_parameters",
]


def __getattr__(name: str):
    # Mesa (and pandas under it) take a second to import: only when the model itself is used,
    # so that `phc-synergy params` and the scenario listing answer at once.
    if name == "PartnershipModel":
        from model.model import PartnershipModel

        return PartnershipModel
    raise AttributeError(f"module 'model' has no attribute {name!r}")
