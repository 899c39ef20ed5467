package dev.diffuse4j.pipelines.hub;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** The downloader against a local server that answers like the hub's API and resolve endpoints. */
class HubDownloaderTest {
    static final String REPO = "acme/tiny-sd";
    static final String COMMIT = "0123456789abcdef0123456789abcdef01234567";

    HttpServer server;
    final Map<String, byte[]> files = new LinkedHashMap<>();
    final List<String> requests = Collections.synchronizedList(new ArrayList<>());
    volatile String requiredToken;
    volatile int cutAfter = -1; // simulate a dropped connection after this many body bytes

    @TempDir
    Path tmp;

    @BeforeEach
    void start() throws IOException {
        Random r = new Random(7);
        byte[] big = new byte[3_000_000];
        r.nextBytes(big);
        files.put("model_index.json", "{\"_class_name\":\"StableDiffusionPipeline\"}".getBytes(StandardCharsets.UTF_8));
        files.put("unet/config.json", "{\"sample_size\":64}".getBytes(StandardCharsets.UTF_8));
        files.put("unet/diffusion_pytorch_model.safetensors", big);
        files.put("unet/diffusion_pytorch_model.fp16.safetensors", new byte[]{1, 2, 3});
        files.put("unet/diffusion_pytorch_model.bin", new byte[]{9});
        files.put("tokenizer/merges.txt", "#version: 0.2\n".getBytes(StandardCharsets.UTF_8));
        files.put("vae/diffusion_pytorch_model.safetensors", new byte[]{4, 5});
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() { server.stop(0); }

    String endpoint() { return "http://127.0.0.1:" + server.getAddress().getPort(); }

    void handle(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        String range = ex.getRequestHeaders().getFirst("Range");
        requests.add(ex.getRequestMethod() + " " + path + (range != null ? " " + range : ""));
        if (requiredToken != null && !("Bearer " + requiredToken).equals(ex.getRequestHeaders().getFirst("Authorization"))) {
            ex.sendResponseHeaders(401, -1);
            ex.close();
            return;
        }
        if (path.equals("/api/models/" + REPO + "/revision/main")) {
            StringBuilder sb = new StringBuilder("{\"sha\":\"" + COMMIT + "\",\"siblings\":[");
            int i = 0;
            for (String f : files.keySet()) sb.append(i++ > 0 ? "," : "").append("{\"rfilename\":\"").append(f).append("\"}");
            send(ex, 200, sb.append("]}").toString().getBytes(StandardCharsets.UTF_8), Map.of());
            return;
        }
        String prefix = "/" + REPO + "/resolve/" + COMMIT + "/";
        if (path.startsWith(prefix) && files.containsKey(path.substring(prefix.length()))) {
            byte[] data = files.get(path.substring(prefix.length()));
            Map<String, String> h = Map.of("ETag", "\"etag" + Integer.toHexString(java.util.Arrays.hashCode(data)) + "\"",
                    "X-Repo-Commit", COMMIT);
            if (ex.getRequestMethod().equals("HEAD")) {
                h.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
                ex.getResponseHeaders().add("Content-Length", Integer.toString(data.length));
                ex.sendResponseHeaders(200, -1);
                ex.close();
                return;
            }
            if (range != null) {
                int from = Integer.parseInt(range.substring("bytes=".length(), range.length() - 1));
                send(ex, 206, java.util.Arrays.copyOfRange(data, from, data.length), h);
            } else if (cutAfter >= 0 && data.length > cutAfter) {
                h.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
                ex.sendResponseHeaders(200, data.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(data, 0, cutAfter);
                } catch (IOException ignored) {
                }
                ex.close();
            } else {
                send(ex, 200, data, h);
            }
            return;
        }
        send(ex, 404, "not found".getBytes(StandardCharsets.UTF_8), Map.of());
    }

    static void send(HttpExchange ex, int code, byte[] body, Map<String, String> headers) throws IOException {
        headers.forEach((k, v) -> ex.getResponseHeaders().add(k, v));
        ex.sendResponseHeaders(code, body.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(body);
        }
    }

    HubDownloader downloader(String token) {
        return new HubDownloader(endpoint(), token, new HubCache(tmp.resolve("hub")), HubDownloader.ProgressListener.NONE)
                .readTimeout(java.time.Duration.ofSeconds(2));
    }

    @Test
    void downloadsIntoTheSharedCacheLayout() throws IOException {
        Path snap = downloader(null).download(REPO, "main", f -> DiffusersFiles.select(f, false));
        Path repoDir = tmp.resolve("hub/models--acme--tiny-sd");
        assertEquals(repoDir.resolve("snapshots").resolve(COMMIT), snap);
        assertEquals(COMMIT, Files.readString(repoDir.resolve("refs/main")));
        Path unet = snap.resolve("unet/diffusion_pytorch_model.safetensors");
        assertTrue(Files.isSymbolicLink(unet), "snapshot entries link to blobs");
        Path target = unet.getParent().resolve(Files.readSymbolicLink(unet)).normalize();
        assertEquals(repoDir.resolve("blobs"), target.getParent(), "relative link into blobs/");
        assertArrayEquals(files.get("unet/diffusion_pytorch_model.safetensors"), Files.readAllBytes(unet));
        assertTrue(Files.exists(snap.resolve("model_index.json")));
        assertTrue(Files.exists(snap.resolve("tokenizer/merges.txt")));
        assertFalse(Files.exists(snap.resolve("unet/diffusion_pytorch_model.bin")), "pickled weights are never fetched");
        assertFalse(Files.exists(snap.resolve("unet/diffusion_pytorch_model.fp16.safetensors")));

        int before = requests.size();
        downloader(null).download(REPO, "main", f -> DiffusersFiles.select(f, false));
        assertEquals(before + 1, requests.size(), "a complete cache only asks for the revision: " + requests.subList(before, requests.size()));
    }

    @Test
    void fp16VariantWhenAskedAndFallbackWhereThereIsNone() throws IOException {
        Path snap = downloader(null).download(REPO, "main", f -> DiffusersFiles.select(f, true));
        assertArrayEquals(new byte[]{1, 2, 3}, Files.readAllBytes(snap.resolve("unet/diffusion_pytorch_model.fp16.safetensors")));
        assertFalse(Files.exists(snap.resolve("unet/diffusion_pytorch_model.safetensors")));
        assertArrayEquals(new byte[]{4, 5}, Files.readAllBytes(snap.resolve("vae/diffusion_pytorch_model.safetensors")), "vae has no fp16 file");
    }

    @Test
    @org.junit.jupiter.api.Timeout(60)
    void resumesAnInterruptedDownloadWithARangeRequest() {
        cutAfter = 1_000_000;
        HubDownloader d = downloader(null);
        IOException first = assertThrows(IOException.class, () -> d.download(REPO, "main", f -> DiffusersFiles.select(f, false)));
        assertTrue(first.getMessage().contains("run again to resume") || first.getMessage().contains("cannot reach"), first.getMessage());
        cutAfter = -1;
        assertDoesNotThrow(() -> {
            Path snap = d.download(REPO, "main", f -> DiffusersFiles.select(f, false));
            assertArrayEquals(files.get("unet/diffusion_pytorch_model.safetensors"), Files.readAllBytes(snap.resolve("unet/diffusion_pytorch_model.safetensors")));
        });
        assertTrue(requests.stream().anyMatch(r -> r.contains("Range") || r.contains("bytes=")), "a Range request resumed the blob: " + requests);
    }

    @Test
    void sendsTheTokenAndExplainsRefusals() throws IOException {
        requiredToken = "hf_secret";
        IOException e = assertThrows(IOException.class, () -> downloader(null).download(REPO, "main", f -> DiffusersFiles.select(f, false)));
        assertTrue(e.getMessage().contains("HF_TOKEN"), e.getMessage());
        assertNotNull(downloader("hf_secret").download(REPO, "main", f -> DiffusersFiles.select(f, false)));
    }

    @Test
    void unknownRepoIsAClearError() {
        IOException e = assertThrows(IOException.class, () -> downloader(null).download("acme/nope", "main", f -> DiffusersFiles.select(f, false)));
        assertTrue(e.getMessage().contains("acme/nope") && e.getMessage().contains("404"), e.getMessage());
    }

    @Test
    void cacheLocationFollowsTheEnvironment() {
        assertEquals(Path.of("/x/hub"), HubCache.fromEnvironment(Map.of("HF_HOME", "/x")).root());
        assertEquals(Path.of("/y"), HubCache.fromEnvironment(Map.of("HF_HOME", "/x", "HF_HUB_CACHE", "/y")).root());
        assertTrue(HubRepoId.looksLikeRepoId("stabilityai/stable-diffusion-xl-base-1.0"));
        assertFalse(HubRepoId.looksLikeRepoId("/abs/path"));
        assertFalse(HubRepoId.looksLikeRepoId("model.safetensors"));
    }
}
