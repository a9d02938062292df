CREATE TABLE "join_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"service" text NOT NULL,
	"token_hash" text NOT NULL,
	"description" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "join_tokens_token_hash_key" ON "join_tokens" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "join_tokens_identity_idx" ON "join_tokens" USING btree ("namespace","service");