"""Prompt templates, as plain constants. Fill them with str.format."""

# Teacher reasoning: private notes on the patterns of the teacher's own examples.
TEACHER_NOTES = """You are an expert teacher. Task: {description}

Here are labelled examples:

{examples}

List the patterns that decide the answer, in a few short bullet points. Do not quote the examples."""

# Lesson drafting, `instructions` method: a lesson for someone who never saw the data.
WRITE_INSTRUCTION = """You are an expert teacher. Task: {description}

Here are labelled examples:

{examples}

Your notes on the patterns:
{notes}

Write clear instructions that teach a student to do this task without seeing any of these examples. Describe the rules and signals in general terms. Do not copy the examples, names, numbers or links.{feedback}

Instructions:"""

# Raw-completion form of the same request, for base models without a chat template.
WRITE_INSTRUCTION_BASE = """Task: {description}

{examples}

Teacher's general instructions for this task (no examples quoted):
"""

# Feedback appended when the privacy filter rejected every earlier draft.
RETRY_FEEDBACK = "\nYour previous lesson was rejected by the privacy filter ({reasons}). Write a new one that avoids this."

# Refinement (`refine_rounds`), `instructions` method: the teacher revises its instruction from
# the held-back examples that a local copy of the student got wrong with it. The examples are
# shown to the teacher's own model only; the revision goes through the privacy filter.
REVISION_CONTEXT = """You are an expert teacher. Task: {description}

A student followed these instructions:
{instruction}

The student still got these examples wrong:

{errors}

"""
# Raw-completion form of the same context, for base models without a chat template.
REVISION_CONTEXT_BASE = """Task: {description}

Teacher's instructions:
{instruction}

Cases the student got wrong with them:

{errors}

"""

# `instruction_revision: rewrite` (the default): the instruction rewritten whole.
REFINE_INSTRUCTION = (
    REVISION_CONTEXT
    + """Rewrite the instructions so that the student gets cases like these right, and keep what already works. Describe the rules and signals in general terms. Do not copy the examples, names, numbers or links.

Improved instructions:"""
)
REFINE_INSTRUCTION_BASE = (
    REVISION_CONTEXT_BASE
    + "Teacher's improved general instructions for this task (no examples quoted):\n"
)

# `instruction_revision: redraft`: a new instruction written as the first (WRITE_INSTRUCTION),
# told of the student's errors with the current one but not shown it, so it cannot copy it.
REDRAFT_FEEDBACK = """

A student who followed earlier instructions for this task still got these examples wrong:

{errors}

Make sure your instructions teach the student to get cases like these right."""
REDRAFT_INSTRUCTION_BASE = """Task: {description}

{examples}

Cases a student got wrong with earlier instructions:

{errors}

Teacher's general instructions for this task, covering these cases (no examples quoted):
"""

# One wrong answer, as shown in REFINE_INSTRUCTION and REDRAFT_FEEDBACK.
REFINE_ERROR = "{example}\nThe student answered: {predicted}"

# The `merge` aggregator: one instruction written from the teachers' (filtered) instructions.
MERGE_INSTRUCTIONS = """You are an expert teacher. Task: {description}

Several teachers wrote these instructions for the task:

{instructions}

Write one set of instructions that combines them: keep every useful rule once, drop repeated rules, and where the teachers disagree keep the rule that most of them support. Describe the rules in general terms.

Combined instructions:"""

# Raw-completion form of the same request, for base models without a chat template.
MERGE_INSTRUCTIONS_BASE = """Task: {description}

{instructions}

Combined general instructions for this task, each rule once:
"""

# One teacher's instruction, as shown in MERGE_INSTRUCTIONS.
MERGE_ITEM = "Teacher {number}:\n{instruction}"

# Lesson drafting, `synthetic_examples` method: few-shot prompt of private examples.
# Each block is task.format_example(example); the model continues with a new block.
SYNTHETIC_PREAMBLE = "{description}\n\n"
EXAMPLE_SEPARATOR = "\n\n"

# Student prompts.
STUDENT_INSTRUCTION = "{instruction}\n\n"
STUDENT_LESSON_HEADER = "Instructions from a teacher:\n{lesson}\n\n"
CALIBRATION_INPUT = "N/A"

# The manual-prompt baseline: an instruction per task, written by hand from what the task is
# (no private example read), shown to the student as a teacher's instruction would be.
MANUAL_PROMPTS = {
    "sms_spam": (
        "Spam is unsolicited bulk messaging: prizes or cash to claim, free offers, ringtone, "
        "chat or dating services, subscriptions that charge per message, requests to call or "
        "text a number or short code, links, and urgent notices from unknown senders about an "
        "account, a delivery or a payment. Ham is an ordinary message between people who know "
        "each other: plans, replies, questions, greetings and jokes, often short, informal, "
        "abbreviated or misspelt. Answer spam or ham."
    ),
    "gsm8k": (
        "Read the problem and write down the quantities it gives and what it asks for. Solve "
        "it one step at a time, writing each calculation with its result, and check that the "
        "result answers the question in the units it asks for. End with the final number on "
        "its own line after '#### ', without units or thousands separators."
    ),
    "random_insertion": (
        "The scrambled word is an ordinary English word with punctuation marks, symbols and "
        "spaces inserted between its letters. Keep only its letters, in the order they appear, "
        "and write them together as one lowercase word, adding and changing no letter."
    ),
}
