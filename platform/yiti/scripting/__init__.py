"""Analysts' logic: formulas in-process, server scripts in limited worker processes.

See docs/scripting.md. Formulas (computed fields, defaults, rules, conditions) are
:func:`compile_expression`/:func:`evaluate`; server scripts run through a
:class:`ScriptRunner` and reach records only through a :class:`ScriptHost`.
"""

from yiti.scripting.errors import ExpressionError as ExpressionError
from yiti.scripting.errors import ScriptError as ScriptError
from yiti.scripting.errors import ScriptProblem as ScriptProblem
from yiti.scripting.expressions import AttributeRead as AttributeRead
from yiti.scripting.expressions import Expression as Expression
from yiti.scripting.expressions import attribute_reads as attribute_reads
from yiti.scripting.expressions import cache_info as cache_info
from yiti.scripting.expressions import check_expression as check_expression
from yiti.scripting.expressions import compile_expression as compile_expression
from yiti.scripting.expressions import evaluate as evaluate
from yiti.scripting.expressions import evaluate_rule as evaluate_rule
from yiti.scripting.guards import Limits as Limits
from yiti.scripting.names import HELPERS as HELPERS
from yiti.scripting.names import set_timezone as set_timezone
from yiti.scripting.proxies import ReadOnlyRecord as ReadOnlyRecord
from yiti.scripting.proxies import record_names as record_names
from yiti.scripting.proxies import record_proxy as record_proxy
from yiti.scripting.scripts import NoHost as NoHost
from yiti.scripting.scripts import ScriptHost as ScriptHost
from yiti.scripting.scripts import ScriptResult as ScriptResult
from yiti.scripting.scripts import ScriptRunner as ScriptRunner
from yiti.scripting.scripts import check_script as check_script
from yiti.scripting.scripts import default_runner as default_runner

__all__ = [
    "HELPERS", "AttributeRead", "Expression", "ExpressionError", "Limits", "NoHost",
    "ReadOnlyRecord", "ScriptError", "ScriptHost", "ScriptProblem", "ScriptResult",
    "ScriptRunner", "attribute_reads", "cache_info",
    "check_expression", "check_script", "compile_expression", "default_runner", "evaluate",
    "evaluate_rule", "record_names", "record_proxy", "set_timezone",
]
