// What every Metarank 0.4.1 stage does with its config before it runs
// (src/main/scala/ai/metarank/mode/CliApp.scala:24-27 at tag 0.4.1, commit 7fde199b):
//   Config.load(contents)                          circe-yaml parse + circe decoders + Config.validateConfig
//   FeatureMapping.fromFeatureSchema(features, models)
// "The engine accepts a config" = both succeed. One JVM judges a whole corpus: it reads config
// file paths from stdin (one per line) and prints one JSON line per config on stdout:
//   {"path": "...", "accepted": true|false, "error": null|"<class>: <message>"}
// Compiled at test time against metarank.jar (tests/support/engine_probe.py); ranker's own code.

import ai.metarank.FeatureMapping$;
import ai.metarank.config.Config;
import ai.metarank.config.Config$;
import cats.effect.unsafe.IORuntime;
import cats.effect.unsafe.IORuntime$;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;

public final class ConfigProbe {
    private ConfigProbe() {}

    public static void main(String[] args) throws Exception {
        // stdout is ours alone: whatever the engine logs or prints goes to stderr
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);
        IORuntime runtime = IORuntime$.MODULE$.global();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String path;
        while ((path = in.readLine()) != null) {
            if (path.isEmpty()) {
                continue;
            }
            String error = null;
            try {
                // CliApp: FS.read(...) then new String(bytes, UTF_8)
                String contents = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.UTF_8);
                Config config = Config$.MODULE$.load(contents).unsafeRunSync(runtime);
                FeatureMapping$.MODULE$.fromFeatureSchema(config.features(), config.models());
            } catch (Throwable t) { // a decoding failure, a MatchError, an IllegalArgumentException, ...
                String message = t.getMessage();
                error = t.getClass().getName() + (message == null ? "" : ": " + message);
            }
            out.println("{\"path\": " + quote(path) + ", \"accepted\": " + (error == null)
                    + ", \"error\": " + (error == null ? "null" : quote(error)) + "}");
        }
        out.flush();
        System.exit(0); // the IO runtime's threads are not daemons
    }

    private static String quote(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        return sb.append('"').toString();
    }
}
