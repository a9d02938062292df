ALTER TABLE "services" ADD COLUMN "mtls" text;--> statement-breakpoint
ALTER TABLE "services" ADD CONSTRAINT "services_mtls_check" CHECK ("services"."mtls" in ('strict', 'permissive', 'disabled'));