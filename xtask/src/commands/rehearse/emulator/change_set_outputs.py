"""moto 5.2.5: a stack created or updated through a change set keeps the Outputs of its previous template (none, for a
new stack). `CloudFormationBackend.execute_change_set` applies the resources and stores the new template text, but
never re-parses it nor rebuilds `output_map` (`Stack.update`, the direct path, does both). Every client that deploys
with change sets - `aws cloudformation deploy` (bootstrap) and osls (deploy) - then reads no outputs back.

Compensation: after the emulator's own execute_change_set, re-parse the stack's template and rebuild its outputs, as
`Stack.update` does. Nothing else changes: a failing change set still fails before this runs.
"""

from moto.cloudformation.models import CloudFormationBackend

_execute_change_set = CloudFormationBackend.execute_change_set


def execute_change_set(self, change_set_name, stack_name=None):
    _execute_change_set(self, change_set_name, stack_name)
    for stack in self.stacks.values():
        if stack.name == stack_name or stack.stack_id == stack_name or _made_by(stack, self, change_set_name):
            stack._parse_template()
            stack.output_map = stack._create_output_map()


def _made_by(stack, backend, change_set_name):
    change_set = backend.change_sets.get(change_set_name)
    return change_set is not None and change_set.stack_id == stack.stack_id


CloudFormationBackend.execute_change_set = execute_change_set
