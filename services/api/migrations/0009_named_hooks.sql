-- Hooks are the operator's (API_HOOKS_FILE): a configuration names one instead of carrying
-- an argv. The stored commands are dropped, not converted: a command set through the API
-- is exactly what may no longer run, so every configuration that had one has no hook now
-- until someone picks a hook by name (README and docs/notifications.md say so).
ALTER TABLE backup_configs
    DROP COLUMN IF EXISTS post_backup_command,
    DROP COLUMN IF EXISTS post_restore_command,
    ADD COLUMN IF NOT EXISTS post_backup_hook text,
    ADD COLUMN IF NOT EXISTS post_restore_hook text;
