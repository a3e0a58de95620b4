import type { FastifyInstance } from "fastify";
import { DIRECTORY_SCRIPT_PATH } from "./directory-page.js";
import { DIRECTORY_JS } from "./directory-script.js";
import { FAVICON_PATH, STYLESHEET_PATH } from "./page.js";
import { FAVICON_SVG, SITE_CSS } from "./site-style.js";
import { UPLOAD_PROGRESS_JS } from "./upload-progress-script.js";

export const UPLOAD_PROGRESS_PATH = "/static/upload-progress.js";

/**
 * The stylesheet and the icon. They hold no secret and change only with a new build, so they
 * may be cached (the pages themselves stay no-store).
 */
export function registerStaticRoutes(app: FastifyInstance): void {
  const cached = "public, max-age=3600";
  app.get(STYLESHEET_PATH, async (_request, reply) =>
    reply.type("text/css; charset=utf-8").header("Cache-Control", cached).send(SITE_CSS),
  );
  const icon = async (_request: unknown, reply: import("fastify").FastifyReply) =>
    reply.type("image/svg+xml").header("Cache-Control", cached).send(FAVICON_SVG);
  app.get(FAVICON_PATH, icon);
  app.get(UPLOAD_PROGRESS_PATH, async (_request, reply) =>
    reply.type("text/javascript; charset=utf-8").header("Cache-Control", cached).send(UPLOAD_PROGRESS_JS),
  );
  app.get(DIRECTORY_SCRIPT_PATH, async (_request, reply) =>
    reply.type("text/javascript; charset=utf-8").header("Cache-Control", cached).send(DIRECTORY_JS),
  );
  // Browsers ask for /favicon.ico whatever the page links; an SVG answer is shown by all current ones.
  app.get("/favicon.ico", icon);
}
