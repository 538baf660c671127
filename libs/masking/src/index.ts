// Public surface of @portcullis/masking (filled in by the masking work).
export {};
