"""An agent-based model of synergy in multi-stakeholder primary health care partnerships."""

from model.model import PartnershipModel
from model.outputs import OUTPUT_MEANINGS, OUTPUTS, SUMMARY_MEANINGS, SUMMARY_OUTPUTS
from model.parameters import DEFAULTS, PARAMETERS, STAKEHOLDER_TYPES, ParameterError, validate_parameters

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
