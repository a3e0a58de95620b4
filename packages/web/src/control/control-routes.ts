import { isTahoeError, type Logger } from "@lafs/interface";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { abortOnClose } from "../disconnect.js";
import { errorView } from "../error-page.js";
import { WebError } from "../errors.js";
import { uploadFromForm } from "../upload-form.js";
import type { BodyLimits } from "../upload-source.js";
import type { WebNode } from "../web-node.js";
import type { WebControl } from "./control-node.js";
import { checkEncodingForGrid } from "./encoding-check.js";
import { encodingPage } from "./encoding-page.js";
import { readForm } from "./form-body.js";
import { assertSameOrigin } from "./same-origin.js";
import { serversPage } from "./servers-page.js";
import { registerSimulatorRoutes } from "./simulator-page.js";
import { uploadPage } from "./upload-page.js";

export interface ControlRoutesOptions {
  node: WebNode;
  control: WebControl;
  limits: BodyLimits;
  logger: Logger;
}

const sendHtml = (reply: FastifyReply, body: string, status = 200) =>
  reply.code(status).type("text/html; charset=utf-8").send(body);

/** A user's mistake is shown on the page it was made on; anything else goes to the error page. */
function userMistake(error: unknown): { status: number; message: string } | undefined {
  if (!isTahoeError(error)) return undefined;
  const status = errorView(error).status;
  const message = error.hint === undefined ? error.message : `${error.message} ${error.hint}`;
  if (error.code === "TAHOE_ERR_CONFIG_CONTROL_PANEL") return { status: 409, message };
  return status >= 400 && status < 500 ? { status, message } : { status: 400, message };
}

function numberField(form: URLSearchParams, name: string): number {
  const text = (form.get(name) ?? "").trim();
  if (!/^\d{1,3}$/.test(text)) {
    throw new WebError("TAHOE_ERR_WEB_BAD_ENCODING", 400, `${name} = '${text}' is not a whole number`, {
      hint: "Give k, happy and N as whole numbers with 1 <= k <= happy <= N <= 256.",
    });
  }
  return Number(text);
}

/**
 * Everything under /control/SECRET/. The secret is checked before routing reaches any page: a wrong,
 * absent or retired one gets exactly the 404 of an unknown URL, so the panel's existence is not told.
 */
export async function registerControlRoutes(
  app: FastifyInstance,
  options: ControlRoutesOptions,
): Promise<void> {
  const { node, control } = options;
  await app.register(
    async (scope) => {
      scope.addHook("onRequest", async (request: FastifyRequest<{ Params: { secret?: string } }>, reply) => {
        const secret = request.params.secret ?? "";
        if (!(await control.secretMatches(secret))) {
          reply.callNotFound();
          return reply;
        }
        if (request.method === "POST") assertSameOrigin(request);
        return undefined;
      });

      scope.get("/", async (request, reply) => {
        // Without the slash the pages' relative links would leave the panel.
        const path = request.url.split("?")[0]!;
        if (!path.endsWith("/"))
          return reply
            .code(303)
            .header("Location", `${path.split("/").at(-1)}/`)
            .send();
        const saved = (request.query as Record<string, string | undefined>).saved;
        return sendHtml(
          reply,
          serversPage(node.status(), await control.servers(), saved === undefined ? {} : { saved: "Saved." }),
        );
      });

      scope.post("/servers", async (request, reply) => {
        const form = await readForm(request);
        const choice = {
          allowed: form.getAll("allowed"),
          required: form.getAll("required"),
          newServersAllowed: form.get("new-servers") !== "not-allowed",
          shown: form.getAll("shown"),
        };
        try {
          await control.saveServers(choice);
        } catch (error) {
          const mistake = userMistake(error);
          if (mistake === undefined) throw error;
          options.logger.warn(
            { code: (error as { code?: string }).code },
            "control panel: servers not saved",
          );
          return sendHtml(
            reply,
            serversPage(node.status(), await control.servers(), { error: mistake.message }),
            mistake.status,
          );
        }
        options.logger.info(
          { allowed: choice.allowed.length, required: choice.required.length },
          "control panel: server choices saved",
        );
        return reply.code(303).header("Location", "./?saved=1").send();
      });

      scope.get("/encoding", async (request, reply) => {
        const saved = (request.query as Record<string, string | undefined>).saved;
        const [encoding, servers] = await Promise.all([control.encoding(), control.servers()]);
        const status = node.status();
        // "Saved." next to a refusal reads as a contradiction: say the values were kept and the
        // banner is about something else (checkEncodingForGrid refused any the encoding caused).
        const messages =
          saved === undefined
            ? {}
            : status.uploads.ready
              ? { saved: "Saved." }
              : { warning: "The values were saved; uploads still cannot start, for the reason shown above." };
        return sendHtml(reply, encodingPage(status, encoding, servers, messages));
      });

      scope.post("/encoding", async (request, reply) => {
        const form = await readForm(request);
        try {
          const wanted = {
            k: numberField(form, "k"),
            happy: numberField(form, "happy"),
            n: numberField(form, "n"),
          };
          checkEncodingForGrid(wanted, await control.servers());
          await control.saveEncoding(wanted);
        } catch (error) {
          const mistake = userMistake(error);
          if (mistake === undefined) throw error;
          const [encoding, servers] = await Promise.all([control.encoding(), control.servers()]);
          const values = { k: form.get("k") ?? "", happy: form.get("happy") ?? "", n: form.get("n") ?? "" };
          return sendHtml(
            reply,
            encodingPage(node.status(), encoding, servers, { error: mistake.message, values }),
            mistake.status,
          );
        }
        options.logger.info("control panel: encoding saved");
        return reply.code(303).header("Location", "encoding?saved=1").send();
      });

      scope.get("/upload", async (request, reply) => {
        const query = request.query as Record<string, string | undefined>;
        return sendHtml(reply, uploadPage(node.status(), query.cap, query.name));
      });

      scope.post("/upload", async (request, reply) => {
        if (!request.isMultipart()) {
          throw new WebError(
            "TAHOE_ERR_WEB_BAD_REQUEST",
            400,
            "the upload form needs a multipart/form-data body",
            {
              hint: "Send the control panel's upload form.",
            },
          );
        }
        const signal = abortOnClose(reply);
        const { cap, filename } = await uploadFromForm(request, {
          fields: {},
          limits: options.limits,
          upload: (body, name) => node.upload(body, name === undefined ? { signal } : { signal, name }),
        });
        if (cap === undefined) {
          throw new WebError("TAHOE_ERR_WEB_BAD_REQUEST", 400, "the upload form has no 'file' field", {
            hint: "Choose a file in the form's 'file' field.",
          });
        }
        // POST, then 303 to a page: reloading the result shows it again instead of uploading again.
        const name = filename === undefined ? "" : `&name=${encodeURIComponent(filename)}`;
        return reply
          .code(303)
          .header("Location", `upload?cap=${encodeURIComponent(cap)}${name}`)
          .send();
      });

      registerSimulatorRoutes(scope, control, node);
    },
    { prefix: "/control/:secret" },
  );
}
