"""What a student sees: messages in order, sanitising, the terminal report, the feedback page's templates."""
