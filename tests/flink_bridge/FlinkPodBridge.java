import java.io.File;
import java.util.List;

import org.apache.flink.client.deployment.application.ApplicationClusterEntryPoint;
import org.apache.flink.client.deployment.application.ApplicationConfiguration;
import org.apache.flink.client.program.DefaultPackagedProgramRetriever;
import org.apache.flink.client.program.PackagedProgram;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.plugin.PluginUtils;
import org.apache.flink.runtime.clusterframework.ApplicationStatus;
import org.apache.flink.runtime.resourcemanager.StandaloneResourceManagerFactory;
import org.apache.flink.runtime.taskexecutor.TaskExecutorResourceUtils;
import org.apache.flink.runtime.taskexecutor.TaskManagerRunner;

/**
 * The JobManager pod of a native-Kubernetes application cluster, as one local process (ranker's
 * test bridge, tests/support/flinkbridge.py).
 *
 * <p>In the image, the operator's JobManager pod runs {@code kubernetes-jobmanager.sh
 * kubernetes-application}: Flink's KubernetesApplicationClusterEntrypoint reads the
 * flink-conf.yaml the operator mounted, builds the program from {@code $internal.application.main},
 * the program arguments and {@code pipeline.jars}, and asks the Kubernetes resource manager for
 * TaskManager pods. This class does the same with Flink's own {@link ApplicationClusterEntryPoint}
 * (the application dispatcher, the REST endpoint the operator talks to, the job's savepoint
 * settings from the configuration) and the standalone resource manager, plus one TaskManager in the
 * same JVM instead of TaskManager pods (no container runtime here).
 *
 * <p>Usage: {@code FlinkPodBridge <confDir> [key=value ...]} — the key/values override the mounted
 * configuration (addresses inside the pod network, high-availability NONE, task slots).
 */
public final class FlinkPodBridge extends ApplicationClusterEntryPoint {

    private FlinkPodBridge(Configuration configuration, PackagedProgram program) {
        super(configuration, program, StandaloneResourceManagerFactory.getInstance());
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: FlinkPodBridge <confDir> [key=value ...]");
            System.exit(2);
        }
        Configuration overrides = new Configuration();
        for (int i = 1; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) {
                System.err.println("not key=value: " + args[i]);
                System.exit(2);
            }
            overrides.setString(args[i].substring(0, eq), args[i].substring(eq + 1));
        }
        Configuration configuration = GlobalConfiguration.loadConfiguration(args[0], overrides);

        ApplicationConfiguration application = ApplicationConfiguration.fromConfiguration(configuration);
        List<String> jars = configuration.get(PipelineOptions.JARS);
        if (jars == null || jars.size() != 1) {
            throw new IllegalArgumentException("pipeline.jars must name exactly one jar, got " + jars);
        }
        String jar = jars.get(0);
        if (!jar.startsWith("local://")) {
            throw new IllegalArgumentException("only local:// jars in the image are modelled: " + jar);
        }
        PackagedProgram program = DefaultPackagedProgramRetriever.create(
                        null,
                        new File(jar.substring("local://".length())),
                        application.getApplicationClassName(),
                        application.getProgramArguments(),
                        configuration)
                .getPackagedProgram();
        configureExecution(configuration, program);

        FlinkPodBridge entrypoint = new FlinkPodBridge(configuration, program);
        entrypoint.startCluster();

        // The TaskManager the resource manager would have asked Kubernetes for, in this JVM.
        Configuration tm = new Configuration();
        for (String key : configuration.keySet()) {
            if (!key.startsWith("taskmanager.memory.")) {
                tm.setString(key, configuration.getString(key, null));
            }
        }
        tm = TaskExecutorResourceUtils.adjustForLocalExecution(tm);
        TaskManagerRunner taskManager = new TaskManagerRunner(
                tm, PluginUtils.createPluginManagerFromRootFolder(tm), TaskManagerRunner::createTaskExecutorService);
        taskManager.start();

        int code;
        try {
            ApplicationStatus status = entrypoint.getTerminationFuture().get();
            code = status.processExitCode();
        } catch (Throwable t) {
            t.printStackTrace();
            code = 1;
        }
        try {
            taskManager.closeAsync().get();
        } catch (Throwable t) {
            // the cluster is gone; the TaskManager's own shutdown errors change nothing
        }
        System.exit(code);
    }
}
