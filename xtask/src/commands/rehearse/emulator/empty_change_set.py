"""moto 5.2.5, two bugs on the rerun of a change-set deploy that changes nothing.

1. CreateChangeSet for a stack whose template and parameters did not change is refused at once with
UpdateStack's error, "No updates are to be performed." (`CloudFormationResponse.create_change_set` calls
`_validate_different_update`). AWS instead creates the change set, which ends FAILED with the reason "The submitted
information didn't contain changes. ..." - the answer `aws cloudformation deploy --no-fail-on-empty-changeset` and osls
look for to call a rerun a no-op. moto's backend already produces exactly that FAILED change set; only the early check
in front of it is wrong.

2. The backend's own "nothing changed" test compares the parameters sent with the ones the stack was created with,
literally: `aws cloudformation deploy` resends every parameter as UsePreviousValue, i.e. with its effective (default)
value, which the creation request did not carry. moto then executes an update that changes nothing, and crashes on
it (AWS::KMS::Alias has no update path in moto: KeyError 'TargetKeyId').

Compensation: skip the early check for CreateChangeSet (UpdateStack keeps it, as on AWS), and compare parameters by
their effective values (the stack's resolved parameters, defaults included). A change set with real changes is
unaffected; an empty one fails the way AWS documents:
https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeChangeSet.html (StatusReason).
"""

from moto.cloudformation.models import Stack
from moto.cloudformation.responses import CloudFormationResponse

_create_change_set = CloudFormationResponse.create_change_set
_validate_different_update = CloudFormationResponse._validate_different_update


def create_change_set(self):
    self._rehearsal_in_create_change_set = True
    try:
        return _create_change_set(self)
    finally:
        self._rehearsal_in_create_change_set = False


def validate_different_update(self, incoming_params, stack_body, old_stack):
    if getattr(self, "_rehearsal_in_create_change_set", False):
        return None
    return _validate_different_update(self, incoming_params, stack_body, old_stack)


CloudFormationResponse.create_change_set = create_change_set
CloudFormationResponse._validate_different_update = validate_different_update


_has_parameters = Stack.has_parameters


def _text(value):
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def has_parameters(self, other_parameters):
    if _has_parameters(self, other_parameters):
        return True
    effective = {name: _text(value) for name, value in self.stack_parameters.items()}
    wanted = {name: _text(value) for name, value in other_parameters.items()}
    return all(effective.get(name) == value for name, value in wanted.items()) and set(wanted) == set(
        name for name in effective if name in (self.template_dict.get("Parameters") or {})
    )


Stack.has_parameters = has_parameters
