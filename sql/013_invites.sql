-- 013: a placeholder on the branch of issue 20 part 2 (messages), whose
-- migration is 014: the numbers must run without a gap.  Issue 20 part 1
-- (invitations) owns this number: at the merge its sql/013_invites.sql
-- replaces this file (take theirs).  Changes nothing.
SELECT 1;
