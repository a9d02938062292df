CREATE TABLE "authorization_policies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"name" text NOT NULL,
	"target_namespace" text NOT NULL,
	"target_service" text,
	"spec" jsonb NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "authorization_policies_namespace_name_key" ON "authorization_policies" USING btree ("namespace","name");--> statement-breakpoint
CREATE INDEX "authorization_policies_target_idx" ON "authorization_policies" USING btree ("target_namespace","target_service");