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

# Lesson drafting, `synthetic_examples` method: few-shot prompt of private examples.
# Each block is task.format_example(example); the model continues with a new block.
SYNTHETIC_PREAMBLE = "{description}\n\n"
EXAMPLE_SEPARATOR = "\n\n"

# Student prompts.
STUDENT_INSTRUCTION = "{instruction}\n\n"
STUDENT_LESSON_HEADER = "Instructions from a teacher:\n{lesson}\n\n"
CALIBRATION_INPUT = "N/A"
