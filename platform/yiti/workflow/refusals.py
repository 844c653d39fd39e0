"""The refusal of an action whose condition does not hold, in words for people.

A transition's ``condition`` is a formula ("supplier is not None and warehouse is not
None"): fine for the analyst, meaningless to the approver who pressed the button. The
refusal says the transition's ``condition_message`` (a label, in the reader's language)
or, without one, that the action is not possible now, in plain words; the formulas are
kept apart (``conditions``) for developers: the API's problem carries them as
``condition``, the screens never show them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from yiti.definitions.model import label_text
from yiti.errors import Conflict
from yiti.workflow.spec import Transition

#: Without a condition_message: "{subject}: '{action}' ... " in each language.
PLAIN: Mapping[str, str] = {
    "en": "{subject}: {action} is not possible now (its condition does not hold)",
    "zh-CN": "{subject}：现在不能{action}（条件不满足）",
}


class ConditionFailed(Conflict):
    """409: no transition of the action leaving the record's state has a condition that
    holds. :meth:`text` is the refusal in a language; ``message`` is it in English."""

    code = "condition"

    def __init__(self, entity_label: Any, name: Any, action: str,
                 transitions: Sequence[Transition], **details: Any) -> None:
        self.entity_label, self.name, self.action = entity_label, name, action
        self.transitions = tuple(transitions)
        self.conditions = "; ".join(t.condition or "" for t in self.transitions)
        super().__init__(self.text("en"), **details)

    def text(self, lang: str) -> str:
        """The refusal for a reader of ``lang``: the declared messages, else plain words."""
        name = label_text(self.name, lang) if isinstance(self.name, Mapping) else self.name
        subject = f"{label_text(self.entity_label, lang)} {name}".strip()
        said = [label_text(t.condition_message, lang) for t in self.transitions
                if t.condition_message]
        if said:
            return f"{subject}: {'; '.join(dict.fromkeys(said))}"
        first = self.transitions[0] if self.transitions else None
        action = (label_text(first.label, lang) if first is not None and first.label
                  else "") or self.action
        template = PLAIN.get(lang) or PLAIN.get(lang.split("-")[0]) or PLAIN["en"]
        return template.format(subject=subject, action=action if lang != "en"
                               else f"'{action}'")


__all__ = ["PLAIN", "ConditionFailed"]
