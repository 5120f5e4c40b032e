import java.io.*;
import java.time.*;
import java.util.*;
import org.quartz.CronExpression;

/**
 * Reads lines "EXPR\tZONE\tAFTER_RFC3339\tCOUNT" on stdin and prints
 * "EXPR\tZONE\tAFTER\tt1,t2,..." (RFC 3339 UTC, whole seconds) using Quartz's
 * CronExpression#getTimeAfter, chaining each result as the next "after".
 * When Quartz has no further fire time (null, or one whose zone-local year
 * exceeds 2099, Apex's limit) before COUNT, the list ends with "END".
 * Invalid expressions print "EXPR\tZONE\tAFTER\t!ERROR <message>".
 */
public class Oracle {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out, "UTF-8")));
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] p = line.split("\t");
            String expr = p[0], zone = p[1], after = p[2];
            int count = Integer.parseInt(p[3]);
            StringBuilder sb = new StringBuilder();
            sb.append(expr).append('\t').append(zone).append('\t').append(after).append('\t');
            try {
                TimeZone tz = TimeZone.getTimeZone(zone);
                CronExpression ce = new CronExpression(expr);
                ce.setTimeZone(tz);
                Date d = Date.from(Instant.parse(after));
                boolean first = true;
                for (int i = 0; i < count; i++) {
                    d = ce.getTimeAfter(d);
                    if (d == null || d.toInstant().atZone(ZoneId.of(zone)).getYear() > 2099) {
                        sb.append(first ? "END" : ",END");
                        break;
                    }
                    if (!first) sb.append(',');
                    first = false;
                    sb.append(d.toInstant().toString());
                }
            } catch (Exception e) {
                sb.append("!ERROR ").append(e.toString().replace('\t', ' ').replace('\n', ' '));
            }
            out.println(sb);
        }
        out.flush();
    }
}
