-- The single revision row that every write bumps (see src/registry/changes.ts).
INSERT INTO "mesh_revision" ("id", "value") VALUES (1, 0) ON CONFLICT DO NOTHING;
