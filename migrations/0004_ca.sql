CREATE TABLE "ca_authorities" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"role" text NOT NULL,
	"source" text NOT NULL,
	"algorithm" text NOT NULL,
	"cert_pem" text NOT NULL,
	"sealed_key" text,
	"parent_id" uuid,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ca_authorities_role_check" CHECK ("ca_authorities"."role" in ('root', 'intermediate')),
	CONSTRAINT "ca_authorities_status_check" CHECK ("ca_authorities"."status" in ('active', 'retiring', 'retired'))
);
--> statement-breakpoint
CREATE TABLE "certificates" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"namespace" text NOT NULL,
	"service" text NOT NULL,
	"spiffe_id" text NOT NULL,
	"serial" text NOT NULL,
	"issuer_id" uuid NOT NULL,
	"channel" text NOT NULL,
	"cert_pem" text NOT NULL,
	"sealed_key" text,
	"not_before" timestamp with time zone NOT NULL,
	"not_after" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "certificates_channel_check" CHECK ("certificates"."channel" in ('sds', 'csr', 'cli')),
	CONSTRAINT "certificates_status_check" CHECK ("certificates"."status" in ('active', 'superseded', 'revoked'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "certificates_serial_key" ON "certificates" USING btree ("serial");--> statement-breakpoint
CREATE INDEX "certificates_identity_idx" ON "certificates" USING btree ("namespace","service","status");--> statement-breakpoint
CREATE INDEX "certificates_not_after_idx" ON "certificates" USING btree ("not_after");